"""Golden cases for placing a streamed block at the column the cursor's line wants."""

from __future__ import annotations

from context.postprocess.block_indentation import BlockIndentation


def place_all(indentation: BlockIndentation, lines: list[str]) -> list[str | None]:
    return [indentation.place(line, first=index == 0) for index, line in enumerate(lines)]


def test_a_body_written_at_its_openers_column_moves_right() -> None:
    below_if = BlockIndentation("", 12, opener_indent=8)
    placed = place_all(below_if, ["        x = 0", "        y = 1", "    return y"])
    assert placed == ["            x = 0", "            y = 1", None]


def test_a_block_written_too_deep_moves_left_from_its_second_line() -> None:
    body = BlockIndentation("    ", 4)
    lines = ["    if n <= 0:", '            return "no"', "        elif n:", "  stray"]
    placed = place_all(body, lines)
    # The first line is trimmed at finishing; its width is already where it will be.
    assert placed == ["    if n <= 0:", '        return "no"', "    elif n:", None]
    assert body.width("    if n <= 0:", first=True) == 4


def test_only_the_first_line_too_deep_leaves_the_rest_alone() -> None:
    body = BlockIndentation("    ", 4)
    assert place_all(body, ["    a = 1", "    b = 2", "x"]) == ["    a = 1", "    b = 2", "x"]


def test_tabs_and_text_left_of_the_cursor_are_not_moved() -> None:
    tabs = BlockIndentation("\t", 4)
    assert place_all(tabs, ["\tx = 1", "\t\ty = 2"]) == ["\tx = 1", "\t\ty = 2"]
    after_text = BlockIndentation("x = ", 4, opener_indent=0)
    assert place_all(after_text, ["1", "y = 2"]) == ["1", "y = 2"]
