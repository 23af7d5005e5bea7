"""Keeping a member being written to the names that exist, token by token.

Where the request says which names may follow an access (`FimRequest.member_names`), the
decoding loop asks this guide about each candidate token, best first, and takes the first
one that can still grow into (or completes) one of the names. Where none of the likeliest
candidates does (a small model sure of a name that is not there), the likeliest token of the
whole vocabulary that spells a next part of a name is taken (`continuations`). The guide lets
go once the identifier is complete.
"""

from __future__ import annotations

import re

_IDENTIFIER_START = re.compile(r"[A-Za-z0-9_$]*")


class MemberGuide:
    """The identifier written so far after the access (`typed`, then what was generated)."""

    def __init__(self, names: frozenset[str], typed: str) -> None:
        self._names = names
        self.written = typed
        self.active = bool(names)

    def allows(self, piece: str) -> bool:
        """Whether `piece` keeps the identifier on the way to a known name (or ends it at one)."""
        if not self.active:
            return True
        grown = self.written + piece
        head = _IDENTIFIER_START.match(grown)
        identifier = head.group(0) if head else ""
        if len(identifier) < len(grown):
            return identifier in self._names
        return any(name.startswith(identifier) for name in self._names)

    def continuations(self) -> set[str]:
        """Every text a next token may be that keeps to a name: each non-empty start of what
        is left of each name begun so far."""
        return {
            name[len(self.written) : end]
            for name in self._names
            if name.startswith(self.written)
            for end in range(len(self.written) + 1, len(name) + 1)
        }

    def allows_end(self) -> bool:
        """Whether the suggestion may end here (the identifier is a whole name)."""
        return not self.active or self.written in self._names

    def advance(self, piece: str) -> None:
        if not self.active:
            return
        grown = self.written + piece
        head = _IDENTIFIER_START.match(grown)
        if head is None or len(head.group(0)) < len(grown):
            self.active = False
        else:
            self.written = grown
