"""Golden cases for ending a one-line suggestion at the bracket the line already closes."""

from __future__ import annotations

from collections.abc import Callable

from context import CompletionMode
from context.postprocess.existing_closer import cut_at_existing_closer, stop_at_existing_closer
from context.postprocess.suggestion import Suggestion, Surroundings

SiteAt = Callable[[str, str], Surroundings]


def test_line_suggestion_stops_at_the_bracket_the_document_already_closes() -> None:
    assert cut_at_existing_closer("10, 20)  # sum", ")  # total") == "10, 20"
    assert cut_at_existing_closer("a, b)", ")") == "a, b)"  # supersedes instead
    assert cut_at_existing_closer("f(1), 2) + 1", ") * 2") == "f(1), 2"
    assert cut_at_existing_closer("x) + 1", ") + 1") == "x) + 1"
    assert cut_at_existing_closer("x + 1", "") == "x + 1"


def test_only_the_bracket_the_rest_of_the_line_starts_with_cuts() -> None:
    assert cut_at_existing_closer("a] + 1", ") * 2") == "a] + 1"
    assert cut_at_existing_closer("a\nb) + 1", ") * 2") == "a\nb) + 1"


def test_the_filter_reads_the_rest_of_the_cursor_line(site_at: SiteAt) -> None:
    line = site_at("def f(a):\n    total = add(‸)  # sum\n", "python")
    assert line.plan.mode is CompletionMode.LINE
    cut = stop_at_existing_closer(Suggestion("1, 2)  # add", 0), line)
    assert cut == Suggestion("1, 2", 0)
