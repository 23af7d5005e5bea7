"""Golden cases for mending the whitespace where a suggestion meets the cursor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from context.postprocess.first_line_whitespace import (
    fit_first_line,
    fix_first_line,
    mend_first_line,
)
from context.postprocess.suggestion import Suggestion, Surroundings

SiteAt = Callable[[str, str], Surroundings]


@pytest.mark.parametrize(
    ("text", "line_prefix", "expected_indent", "keep_spaces", "result"),
    [
        ("        return a", "", 4, False, "    return a"),  # over-indented: trimmed
        ("    c = b\n    return c", "    ", 4, False, "c = b\n    return c"),  # first line only
        ("  return a", "", 4, False, "  return a"),  # under-indented: left as written
        ("        x", "", None, False, "        x"),  # nothing expected: left as written
        (" 1", "x = ", None, False, "1"),  # a doubled space after the prefix
        ("\t 1", "x = ", None, False, "1"),
        ("  two", "# a ", None, True, " two"),  # comments and strings drop only one
        ("(1)", "f", None, False, "(1)"),  # no space left of the cursor: nothing to drop
    ],
)
def test_fix_first_line_golden(
    text: str, line_prefix: str, expected_indent: int | None, keep_spaces: bool, result: str
) -> None:
    assert fix_first_line(text, line_prefix, expected_indent, keep_spaces) == result


def test_fit_first_line_counts_the_prefix_and_tabs() -> None:
    assert fit_first_line("\t\tx", "", 4) == "\tx"
    assert fit_first_line("    x", "  ", 4) == "  x"
    assert fit_first_line("  x", "  ", 4) == "  x"


def test_the_filter_uses_the_mode_and_the_expected_indent(site_at: SiteAt) -> None:
    body = site_at("def f(a):\n    b = a\n    ‸\n", "python")
    assert mend_first_line(Suggestion("    return b", 0), body) == Suggestion("return b", 0)
    comment = site_at("def f():\n    # add ‸\n    pass\n", "python")
    assert mend_first_line(Suggestion("  two", 0), comment) == Suggestion(" two", 0)
