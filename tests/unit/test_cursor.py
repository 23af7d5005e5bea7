"""The one cursor type: offset, line and the line's two sides."""

from __future__ import annotations

import pytest

from context.cursor import Cursor


def test_cursor_at_an_offset() -> None:
    text = "a = 1\r\nbc = 2\r\n"
    cursor = Cursor.at(text, text.index("= 2"))
    assert (cursor.line, cursor.line_prefix, cursor.rest_of_line) == (1, "bc ", "= 2")
    assert text[cursor.line_start : cursor.line_end] == "bc = 2\r"


def test_cursor_at_a_line_and_column_clamps_the_column() -> None:
    text = "first\nsecond\n"
    assert Cursor.at_line(text, 1, 99).offset == len("first\nsecond")
    assert Cursor.at_line(text, 2, 5).offset == len(text)  # the empty last line
    with pytest.raises(ValueError):
        Cursor.at_line(text, 3, 0)
    with pytest.raises(ValueError):
        Cursor.at(text, len(text) + 1)
