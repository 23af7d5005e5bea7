"""Golden cases for the whitespace tidying filter."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from context.postprocess.suggestion import Suggestion, Surroundings
from context.postprocess.tidy_whitespace import tidy_lines, tidy_whitespace

SiteAt = Callable[[str, str], Surroundings]


@pytest.mark.parametrize(
    ("text", "prefix_is_blank", "expected"),
    [
        ("x = 1   \n    return x  \n\n\n", True, "x = 1\n    return x"),
        ("\n\n    return 1", True, "    return 1"),  # the first real line goes at the cursor
        ("\n\n    return a", False, "\n    return a"),  # after an opener: one break stays
        ("a = 1\n\n  b = 2", False, "a = 1\n\n  b = 2"),  # blank lines inside stay
        (" \n\t\n", True, ""),
    ],
)
def test_tidy_lines_golden(text: str, prefix_is_blank: bool, expected: str) -> None:
    assert tidy_lines(text, prefix_is_blank) == expected


def test_the_filter_asks_whether_the_cursor_line_is_blank(site_at: SiteAt) -> None:
    blank_line = site_at("def f():\n    ‸\n", "python")
    tidied = tidy_whitespace(Suggestion("\n  x = 1 ", 0), blank_line)
    assert tidied == Suggestion("  x = 1", 0)
    after_opener = site_at("def f(a):‸\n", "python")
    tidied = tidy_whitespace(Suggestion("\n\n    return a \n", 0), after_opener)
    assert tidied == Suggestion("\n    return a", 0)
