"""Indentation arithmetic shared by the planner and the finisher.

Models frequently get indentation slightly wrong, and block completions end
where the indentation drops, so several places need to measure, compare and
trim leading whitespace consistently (tabs included).
"""

from __future__ import annotations

from collections import Counter

from context.languages import ends_with_block_opener
from context.line_breaks import lf_lines

TAB_WIDTH = 4
DEFAULT_INDENT_WIDTH = 4
_MAX_SAMPLED_LINES = 2000
# A previous line ending like this continues onto the next one.
_CONTINUATION_ENDINGS = (",", "\\", "+", "-", "*", "/", "=", "&", "|", ".", "?")


def leading_whitespace(line: str) -> str:
    """Return the run of spaces and tabs a line starts with."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def whitespace_width(whitespace: str) -> int:
    """Column width of a run of spaces/tabs, counting a tab as TAB_WIDTH columns."""
    return sum(TAB_WIDTH if char == "\t" else 1 for char in whitespace)


def indent_width(line: str) -> int:
    """Column width of a line's indentation."""
    return whitespace_width(leading_whitespace(line))


def trim_whitespace_to_width(whitespace: str, target_width: int) -> str:
    """Drop characters from the front of whitespace until it is no wider than target."""
    target = max(target_width, 0)
    while whitespace and whitespace_width(whitespace) > target:
        whitespace = whitespace[1:]
    return whitespace


def detect_indent_width(text: str) -> int:
    """Guess the indentation step of a document from its most common indent increase."""
    steps: Counter[int] = Counter()
    previous = 0
    for line in lf_lines(text)[:_MAX_SAMPLED_LINES]:
        if not line.strip():
            continue
        width = indent_width(line)
        if width > previous:
            steps[width - previous] += 1
        previous = width
    if not steps:
        return DEFAULT_INDENT_WIDTH
    return steps.most_common(1)[0][0]


def expected_indent(text: str, line_start: int, language_id: str) -> int | None:
    """Indentation width a fresh line starting at line_start should get, if predictable.

    That is the previous non-blank line's indentation, one step deeper after a
    block opener. None when the previous line continues onto this one (open
    bracket, trailing comma/operator), where alignment is anybody's guess.
    """
    previous = _previous_nonblank_line(text, line_start)
    if previous is None:
        return 0
    code = previous.rstrip()
    if ends_with_block_opener(code, language_id):
        return indent_width(previous) + detect_indent_width(text)
    if code.endswith(_CONTINUATION_ENDINGS) or _opens_more_than_closes(code):
        return None
    return indent_width(previous)


def opener_indent_above(text: str, line_start: int, language_id: str) -> int | None:
    """The indentation of the last non-blank line before `line_start` if it opens a block."""
    previous = _previous_nonblank_line(text, line_start)
    if previous is None or not ends_with_block_opener(previous.rstrip(), language_id):
        return None
    return indent_width(previous)


def _previous_nonblank_line(text: str, line_start: int) -> str | None:
    end = line_start - 1
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        if line.strip():
            return line
        end = start - 1
    return None


def _opens_more_than_closes(code: str) -> bool:
    return sum(code.count(char) for char in "([{") > sum(code.count(char) for char in ")]}")
