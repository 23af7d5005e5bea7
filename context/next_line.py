"""Where the user will be after accepting a suggestion and pressing Enter.

To have the next line's suggestion ready before it is asked for, fimble predicts the text an
editor will hold then: the suggestion inserted (replacing what it replaces of the line), a
line break, and the indentation an editor brings to the new line (the line's own, one step
deeper after a block opener). Only a suggestion that finishes its line is followed this way:
with code still right of the cursor, Enter would carry that code down and nobody can say
what the user means.
"""

from __future__ import annotations

from dataclasses import dataclass

from context.indentation import expected_indent, indent_width, leading_whitespace


@dataclass(frozen=True)
class NextLine:
    """The predicted document text and the cursor's offset in it."""

    text: str
    offset: int

    def on_the_way(self, before: str, offset: int, now: str) -> bool:
        """Whether `now` is `before` (the cursor at `offset`) with the start of what this
        prediction inserts typed at the cursor: the user is still heading here."""
        typed = len(now) - len(before)
        inserted = self.text[offset : self.offset]
        return (
            0 <= typed <= len(inserted)
            and now[offset : offset + typed] == inserted[:typed]
            and now[:offset] == before[:offset]
            and now[offset + typed :] == before[offset:]
        )


def after_enter(
    text: str, offset: int, inserted: str, replace_chars: int, language_id: str
) -> NextLine | None:
    """The document after `inserted` is accepted at `offset` and Enter is pressed, or None
    where that cannot be predicted (a multi-line insertion, anything left right of it)."""
    if not inserted.strip() or "\n" in inserted:
        return None
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    if text[offset + replace_chars : line_end]:
        return None  # code (or a CRLF line end) right of the accepted text
    line_start = text.rfind("\n", 0, offset) + 1
    finished = text[:offset] + inserted
    current_indent = leading_whitespace(text[line_start:offset])
    width = expected_indent(finished + "\n", len(finished) + 1, language_id)
    indent = current_indent if width is None else _indent_like(current_indent, width)
    new_text = finished + "\n" + indent + text[line_end:]
    return NextLine(new_text, len(finished) + 1 + len(indent))


def _indent_like(current: str, width: int) -> str:
    """Whitespace `width` columns wide, in tabs where the current line is indented by tabs."""
    if current.startswith("\t"):
        return "\t" * (width // max(indent_width("\t"), 1))
    return " " * width
