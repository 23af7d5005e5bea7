"""Golden cases for judging a streamed block line by line."""

from __future__ import annotations

from context.postprocess.block_indentation import BlockIndentation
from context.postprocess.block_scanner import BlockScanner
from context.postprocess.suffix_echo import SuffixEcho


def scan(scanner: BlockScanner, lines: list[str]) -> int:
    """Feed lines until the scanner is done; how many it was given."""
    for count, line in enumerate(lines, start=1):
        scanner.add(line)
        if scanner.done:
            return count
    return len(lines)


def test_a_dedent_below_the_block_ends_it_without_the_line() -> None:
    scanner = BlockScanner(BlockIndentation("    ", 4), SuffixEcho("\n"), 16)
    assert scan(scanner, ["a = 1", "    if a:", "        b = 2", "", "def g():", "x"]) == 5
    assert scanner.kept == ["a = 1", "    if a:", "        b = 2", ""]


def test_a_brace_blocks_own_closing_line_is_kept() -> None:
    body = BlockScanner(BlockIndentation("", 4), SuffixEcho("\n"), 16, 4, keeps_closing_line=True)
    assert scan(body, ["    go();", "  }", "  more();"]) == 2
    assert body.kept == ["    go();", "  }"]


def test_a_repeated_or_stranding_first_line_is_refused_and_named() -> None:
    echo = SuffixEcho("\n    for c in s:\n        level += 1\n")
    repeat = BlockScanner(BlockIndentation("    ", 4), echo, 16)
    scan(repeat, ["for c in s:"])
    assert (repeat.kept, repeat.refused_first_line) == ([], "for c in s:")
    strand = BlockScanner(BlockIndentation("    ", 4), echo, 16)
    scan(strand, ["return level"])
    assert (strand.kept, strand.refused_first_line) == ([], "return level")


def test_the_cap_counts_lines_from_the_first_code_line() -> None:
    scanner = BlockScanner(BlockIndentation("    ", 4), SuffixEcho("\n"), 2)
    assert scan(scanner, ["", "a = 1", "", "    b = 2", "    c = 3"]) == 3
    assert scanner.kept == ["", "a = 1", ""]


def test_a_hole_may_close_inner_blocks_down_to_the_outer_floor() -> None:
    deep = BlockIndentation("", 12)
    scanner = BlockScanner(deep, SuffixEcho("\n    return total\n"), 16, outer_floor=4)
    assert scan(scanner, ["            total += 1", "        print(x)", "x = 0"]) == 3
    assert scanner.kept == ["            total += 1", "        print(x)"]


def test_text_left_of_the_cursor_makes_a_one_line_answer() -> None:
    scanner = BlockScanner(BlockIndentation("def f(a):", 4), SuffixEcho("\n"), 16)
    assert scan(scanner, ["  # comment", "    return a"]) == 1
    assert scanner.kept == ["  # comment"]
