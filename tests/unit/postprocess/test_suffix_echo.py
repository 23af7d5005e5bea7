"""Golden cases for telling generated lines that repeat the code after the cursor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from context.postprocess.suffix_echo import SuffixEcho, refuse_suffix_repeat
from context.postprocess.suggestion import Suggestion, Surroundings

SiteAt = Callable[[str, str], Surroundings]

SUFFIX = "\n    x = 1\n    new_distance = dist[u] + weight\n\n    return new_distance\n}\n"


@pytest.mark.parametrize(
    ("line", "width", "first_line", "repeats"),
    [
        ("    x = 1", 4, True, True),  # the very next line
        ("    x = 1", 8, False, True),  # the very next line, at any column
        ("    return new_distance", 4, True, False),  # a first line repeats only the next line
        ("    return new_distance", 4, False, True),  # later lines: any compared line
        ("        return new_distance", 8, False, False),  # ... at the same column only
        ("    distance = dist[u] + weight", 4, False, True),  # a near copy of a close line
        ("    total = compute_other(v)", 4, False, False),
        ("", 0, False, False),
    ],
)
def test_repeats_golden(line: str, width: int, first_line: bool, repeats: bool) -> None:
    assert SuffixEcho(SUFFIX).repeats(line, width, first_line=first_line) is repeats


def test_a_lone_closer_repeats_only_at_its_own_column() -> None:
    echo = SuffixEcho("\n}\n")
    assert echo.repeats("}", 0)
    assert not echo.repeats("  }", 2)


def test_short_lines_are_not_distinctive_enough_past_the_next_line() -> None:
    echo = SuffixEcho("\n    a = 1\n    b = 2\n")
    assert not echo.repeats("    b = 2", 4)
    assert echo.repeats("    a = 1", 4)


def test_starts_with_needs_the_next_lines_in_order() -> None:
    echo = SuffixEcho(SUFFIX)
    assert echo.starts_with(["    x = 1", "", "    new_distance = dist[u] + weight"])
    assert not echo.starts_with(["    new_distance = dist[u] + weight"])
    assert not echo.starts_with([])


def test_the_filter_refuses_an_answer_the_document_already_has(site_at: SiteAt) -> None:
    line = site_at("def f(a, b):\n    total = combine(‸)\n    return total\n", "python")
    assert refuse_suffix_repeat(Suggestion(")", 0), line) is None
    assert refuse_suffix_repeat(Suggestion("a, b)", 0), line) == Suggestion("a, b)", 0)
    block = site_at("def f():\n    ‸\n    x = 1\n    return x\n", "python")
    assert refuse_suffix_repeat(Suggestion("x = 1", 0), block) is None
    assert refuse_suffix_repeat(Suggestion("x = 1\n    return x", 0), block) is None
    kept = Suggestion("x = 2\n    return x", 0)
    assert refuse_suffix_repeat(kept, block) == kept
