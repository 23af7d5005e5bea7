"""The finishing chain: its order as documented, its refusals, and golden runs through it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import context.postprocess
from context.postprocess import chain
from context.postprocess.suggestion import Suggestion, Surroundings

SiteAt = Callable[[str, str], Surroundings]


def test_the_package_docstring_lists_the_finishing_filters_in_their_order() -> None:
    documented = context.postprocess.__doc__ or ""
    section = documented.split("When the stream ends", 1)[1].split("\n\n", 1)[0]
    listed = [word[: -len(".py")] for word in section.split() if word.endswith(".py")]
    modules = [step.__module__.rsplit(".", 1)[1] for step in chain.FINISHING_FILTERS]
    assert listed == modules


@pytest.mark.parametrize(
    ("source", "language_id", "text", "expected"),
    [
        ("def f(a, b):\n    total = combine(‸)\n", "python", "a, b)  \n", Suggestion("a, b)", 1)),
        ("x = ‸\n", "python", " 1", Suggestion("1", 0)),
        (
            "def f(x):\n    if x:\n‸\n    return 1\n",
            "python",
            '        return "YES"\n    else:\n',
            Suggestion('        return "YES"', 0),
        ),
        ("def f(a, b):\n    total = combine(‸)\n", "python", ")", None),  # the rest of the line
        ("def f(a):\n    total = add(‸)  # sum\n", "python", "1, 2)  # add", Suggestion("1, 2", 0)),
        ("function f(a) {\n  ‸\n}\n", "javascript", "b();\n  if (b) {\n", Suggestion("b();", 0)),
        ("def f():\n    ‸\n", "python", "  \n\n", None),
    ],
)
def test_finish_suggestion_golden(
    site_at: SiteAt, source: str, language_id: str, text: str, expected: Suggestion | None
) -> None:
    assert chain.finish_suggestion(text, site_at(source, language_id)) == expected


def test_a_refusal_or_a_blank_result_ends_the_chain(
    site_at: SiteAt, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []

    def blank(suggestion: Suggestion, site: Surroundings) -> Suggestion:
        ran.append("blank")
        return Suggestion(" ", 0)

    def refuse(suggestion: Suggestion, site: Surroundings) -> None:
        ran.append("refuse")

    site = site_at("x = ‸\n", "python")
    monkeypatch.setattr(chain, "FINISHING_FILTERS", (blank, refuse))
    assert chain.finish_suggestion("1", site) is None
    monkeypatch.setattr(chain, "FINISHING_FILTERS", (refuse, blank))
    assert chain.finish_suggestion("1", site) is None
    assert ran == ["blank", "refuse"]
