"""Filter: drop last lines that open a block they never fill (changes, never refuses).

`return "YES"` followed by a bare `else:` would adopt the code after the cursor as
the new branch's body: code that was not written for it. The opener stays when the
code after the cursor is indented deeper than it (that code is its body), and a
one-line answer is left alone.
"""

from __future__ import annotations

from dataclasses import replace

from context.indentation import indent_width
from context.languages import ends_with_block_opener
from context.postprocess.suggestion import Suggestion, Surroundings


def trim_dangling_opener(suggestion: Suggestion, site: Surroundings) -> Suggestion:
    """The suggestion without trailing openers that the code after the cursor does not fill."""
    following = site.echo.following
    next_indent = indent_width(following[0]) if following else None
    text = drop_dangling_opener(suggestion.text, site.plan.language_id, next_indent)
    return replace(suggestion, text=text)


def drop_dangling_opener(text: str, language_id: str, next_indent: int | None) -> str:
    """Drop last lines of a multi-line suggestion that open a block they never fill.

    `next_indent` is the indentation of the code after the cursor, if there is any.
    """
    lines = text.split("\n")
    while len(lines) > 1 and ends_with_block_opener(lines[-1].rstrip(), language_id):
        if next_indent is not None and next_indent > indent_width(lines[-1]):
            break
        lines.pop()
    return "\n".join(lines)
