"""Golden cases for dropping last lines that open a block they never fill."""

from __future__ import annotations

from collections.abc import Callable

from context.postprocess.dangling_opener import drop_dangling_opener, trim_dangling_opener
from context.postprocess.suggestion import Suggestion, Surroundings

SiteAt = Callable[[str, str], Surroundings]


def test_a_block_opener_left_without_its_body_is_dropped() -> None:
    dangling = '        return "YES"\n    else:'
    assert drop_dangling_opener(dangling, "python", 4) == '        return "YES"'
    assert drop_dangling_opener(dangling, "python", 8) == dangling  # what follows is its body
    assert drop_dangling_opener("if x:", "python", None) == "if x:"  # a one-line answer stays
    assert drop_dangling_opener("a = 1\nif (a) {", "javascript", None) == "a = 1"


def test_several_dangling_openers_all_go() -> None:
    text = "x = 1\nif x:\n    for y in x:"
    assert drop_dangling_opener(text, "python", None) == "x = 1"


def test_the_filter_reads_the_indentation_of_the_code_after_the_cursor(site_at: SiteAt) -> None:
    text = '        return "YES"\n    else:'
    shallow = site_at("def f(x):\n    if x:\n‸\n    return 1\n", "python")
    trimmed = trim_dangling_opener(Suggestion(text, 0), shallow)
    assert trimmed == Suggestion('        return "YES"', 0)
    deeper = site_at("def f(x):\n    if x:\n‸\n        return 1\n", "python")
    assert trim_dangling_opener(Suggestion(text, 0), deeper) == Suggestion(text, 0)
