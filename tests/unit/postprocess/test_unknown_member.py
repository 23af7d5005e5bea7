"""Golden cases for refusing a suggestion that starts by naming a member that does not exist."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from context.member_names import MemberAccess
from context.postprocess.suggestion import Suggestion, Surroundings
from context.postprocess.unknown_member import refuse_unknown_member

SiteAt = Callable[[str, str], Surroundings]
SHAPES = frozenset({"area_of_circle", "area_of_rectangle"})


def site_with(site_at: SiteAt, typed: str) -> Surroundings:
    site = site_at(f"import shapes\n\nx = shapes.{typed}‸\n", "python")
    plan = dataclasses.replace(site.plan, member=MemberAccess(typed, SHAPES))
    return dataclasses.replace(site, plan=plan)


def test_a_real_member_passes(site_at: SiteAt) -> None:
    kept = Suggestion("area_of_circle(r)", 0)
    assert refuse_unknown_member(kept, site_with(site_at, "")) == kept
    typed_start = Suggestion("_of_rectangle(w, h)", 0)
    assert refuse_unknown_member(typed_start, site_with(site_at, "area")) == typed_start


def test_an_invented_member_is_refused(site_at: SiteAt) -> None:
    assert refuse_unknown_member(Suggestion("circle_area(r)", 0), site_with(site_at, "")) is None
    assert refuse_unknown_member(Suggestion("_circle(r)", 0), site_with(site_at, "area")) is None


def test_a_name_cut_short_passes_while_it_can_still_become_a_member(site_at: SiteAt) -> None:
    partial = Suggestion("area_of", 0)
    assert refuse_unknown_member(partial, site_with(site_at, "")) == partial


def test_without_a_known_member_set_nothing_changes(site_at: SiteAt) -> None:
    site = site_at("x = other.‸\n", "python")
    anything = Suggestion("whatever(1)", 0)
    assert refuse_unknown_member(anything, site) == anything
