"""Golden cases for working out which characters right of the cursor a suggestion replaces."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from context.postprocess.suggestion import Suggestion, Surroundings
from context.postprocess.superseded_text import supersede_rest_of_line, superseded_chars

SiteAt = Callable[[str, str], Surroundings]


@pytest.mark.parametrize(
    ("text", "line_prefix", "rest_of_line", "replaced"),
    [
        ("a, b)", "    total = combine(", ")", 1),  # ends with the closer: supersedes it
        ("a, b", "    total = combine(", ")", 0),  # the closer is still needed
        ("inner()", "    total = combine(", ")", 0),  # its own pair: keeping ours balances
        ("x):", "def f(", "):", 2),  # the closers, in order, inside the suggestion
        ('hello"', 's = "', '"', 1),  # a closing quote counts as well
        ("1, 2, 3];", "    let v = vec![", "];", 2),
        ("a + 1", "y = ", " + 1", 4),  # ends with a rest that is more than closers
        ("a + 2", "y = ", " + 1", 0),
        ("a)\nb", "f(", ")", 0),  # a multi-line suggestion replaces nothing
        ("a", "x = ", "", 0),
    ],
)
def test_superseded_chars_golden(
    text: str, line_prefix: str, rest_of_line: str, replaced: int
) -> None:
    assert superseded_chars(text, line_prefix, rest_of_line) == replaced


def test_the_filter_sets_the_replaced_range_from_the_cursor_line(site_at: SiteAt) -> None:
    site = site_at("def f(a, b):\n    total = combine(‸)\n", "python")
    assert supersede_rest_of_line(Suggestion("a, b)", 0), site) == Suggestion("a, b)", 1)
    assert supersede_rest_of_line(Suggestion("a, b", 0), site) == Suggestion("a, b", 0)
