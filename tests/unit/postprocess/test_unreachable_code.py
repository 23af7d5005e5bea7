"""Tests for recognising lines that would strand the code after them."""

from __future__ import annotations

import pytest

from context.postprocess.unreachable_code import ends_block, strands_following_code


@pytest.mark.parametrize(
    ("line", "width", "following"),
    [
        ("    return x", 4, "    for c in s:"),
        ("    break", 4, "    x = 1"),
        ("  throw new Error('x');", 2, "  count += 1;"),
        ("    raise ValueError(x)", 4, "        deeper()"),
    ],
)
def test_code_after_a_block_ending_line_in_the_same_block_is_stranded(
    line: str, width: int, following: str
) -> None:
    assert strands_following_code(line, width, following)


@pytest.mark.parametrize(
    ("line", "width", "following"),
    [
        ("        return x", 8, "    for c in s:"),
        ("        return x", 8, "    else:"),
        ("    return x;", 4, "}"),
        ("    break;", 4, "    case 2:"),
        ("    return x", 4, "    # unreachable? a comment only"),
        ("    x = 1", 4, "    y = 2"),
        ("    return x", 4, None),
        ("    returned = x", 4, "    y = 2"),
        ("            return y", 12, "            break"),
    ],
)
def test_code_control_can_still_reach_is_not_stranded(
    line: str, width: int, following: str | None
) -> None:
    assert not strands_following_code(line, width, following)


def test_block_ending_words_are_whole_words() -> None:
    assert ends_block("return")
    assert ends_block("  continue;")
    assert not ends_block("returns = 1")
    assert not ends_block("breakpoint()")
