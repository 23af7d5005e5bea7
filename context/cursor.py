"""The cursor, worked out once: where it is in the text and what surrounds it on its line.

Every layer needs the same few facts about a request's cursor (its offset, its line, the part
of the line to its left and to its right); computing them in one place keeps the server, the
planner, the finisher and the command line from disagreeing about, say, a `\\r` before a line
break. Offsets are code points into the document text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cursor:
    """A position in a document's text and its line."""

    offset: int
    line: int  # 0-based line number
    line_start: int  # offset of the line's first character
    line_end: int  # offset of the line's newline (or the document's end)
    line_prefix: str  # the line's text left of the cursor
    rest_of_line: str  # the line's text right of the cursor, without the line break

    @staticmethod
    def at(text: str, offset: int) -> Cursor:
        """The cursor at code-point `offset`; raises ValueError outside the text."""
        if not 0 <= offset <= len(text):
            raise ValueError(f"offset {offset} outside document of length {len(text)}")
        start = text.rfind("\n", 0, offset) + 1
        newline = text.find("\n", offset)
        end = len(text) if newline < 0 else newline
        rest = text[offset:end]
        if rest.endswith("\r"):
            rest = rest[:-1]
        return Cursor(offset, text.count("\n", 0, start), start, end, text[start:offset], rest)

    @staticmethod
    def at_line(text: str, line: int, column: int) -> Cursor:
        """The cursor at 0-based `line` and code-point `column`, the column clamped to the
        line's length; raises ValueError for a line past the end."""
        start = 0
        for _ in range(line):
            newline = text.find("\n", start)
            if newline < 0:
                raise ValueError(f"line {line + 1} is past the end of the document")
            start = newline + 1
        newline = text.find("\n", start)
        length = len(text[start : len(text) if newline < 0 else newline].rstrip("\r"))
        return Cursor.at(text, start + max(0, min(column, length)))
