"""Filter: end a one-line suggestion at the bracket the line already closes (changes).

With `add(|)  # sum` right of the cursor the model tends to write `1, 2)  # add`:
past the closing bracket it only rewrites what is already there. The suggestion is
cut before that bracket. Only in LINE and SHORT mode, only where more than closers
follows the cursor (closers alone are superseded instead, see superseded_text.py),
and not where the suggestion reproduces the whole rest of the line.
"""

from __future__ import annotations

from dataclasses import replace

from context.completion_plan import CompletionMode
from context.languages import OPEN_TO_CLOSE, is_closers_only
from context.postprocess.suggestion import Suggestion, Surroundings

_CLOSERS = frozenset(")]}")


def stop_at_existing_closer(suggestion: Suggestion, site: Surroundings) -> Suggestion:
    """The one-line suggestion cut where it closes the bracket the document already closes."""
    if site.plan.mode is CompletionMode.BLOCK:
        return suggestion
    text = cut_at_existing_closer(suggestion.text, site.plan.rest_of_line)
    return replace(suggestion, text=text)


def cut_at_existing_closer(text: str, rest_of_line: str) -> str:
    """`text` up to the unmatched bracket that closes the one starting the rest of the line."""
    rest = rest_of_line.strip()
    if not rest or rest[0] not in _CLOSERS or is_closers_only(rest) or "\n" in text:
        return text
    depth = 0
    for index, char in enumerate(text):
        if char in OPEN_TO_CLOSE:
            depth += 1
        elif char in _CLOSERS:
            if depth == 0:
                if char != rest[0] or text[index:].strip() == rest:
                    return text
                return text[:index].rstrip()
            depth -= 1
    return text
