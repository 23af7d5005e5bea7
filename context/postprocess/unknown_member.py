"""Refuse a suggestion that starts by naming a member that does not exist.

Where the cursor writes a member of something whose members are all known (the plan's
`member`, see `context.member_names`), the local engine keeps its decoding to those names;
an engine that cannot be steered token by token (a remote server) may still answer
`shapes.circle_area(...)` for a module that has no such function. Such an answer names
nothing real at its very start, so there is nothing before it worth keeping: it is refused.
"""

from __future__ import annotations

import re

from context.postprocess.suggestion import Suggestion, Surroundings

_IDENTIFIER_START = re.compile(r"[A-Za-z0-9_$]*")


def refuse_unknown_member(suggestion: Suggestion, site: Surroundings) -> Suggestion | None:
    member = site.plan.member
    if member is None:
        return suggestion
    found = _IDENTIFIER_START.match(suggestion.text)
    written = member.typed + (found.group(0) if found else "")
    if len(written) - len(member.typed) < len(suggestion.text):
        return suggestion if written in member.names else None
    return suggestion if any(name.startswith(written) for name in member.names) else None
