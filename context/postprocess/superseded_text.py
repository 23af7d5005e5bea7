"""Filter: work out which characters right of the cursor a one-line suggestion replaces.

Models often write the closing brackets and quotes the line already has: `foo(|)`
completed with `a, b)` must not leave `foo(a, b))`. The editor is told to replace
that many characters. Changes the replaced range only, never the text; LINE and
SHORT mode only (a block starts where nothing is right of the cursor).
"""

from __future__ import annotations

from dataclasses import replace

from context.completion_plan import CompletionMode
from context.languages import OPEN_TO_CLOSE, QUOTE_CHARS, is_closers_only
from context.postprocess.suggestion import Suggestion, Surroundings


def supersede_rest_of_line(suggestion: Suggestion, site: Surroundings) -> Suggestion:
    """The suggestion with the characters right of the cursor it replaces."""
    plan = site.plan
    if plan.mode is CompletionMode.BLOCK:
        return suggestion
    replaced = superseded_chars(suggestion.text, plan.line_prefix, plan.rest_of_line)
    return replace(suggestion, replace_chars=replaced)


def superseded_chars(text: str, line_prefix: str, rest_of_line: str) -> int:
    """How many characters right of the cursor a one-line suggestion should replace.

    The suggestion supersedes the rest of the line when it already ends with it
    (`foo(|)` + `a, b)`), or, for closers only, when it contains them in order
    and keeping them would unbalance the line.
    """
    rest = rest_of_line.strip()
    if not rest or "\n" in text:
        return 0
    kept_score = _imbalance(line_prefix + text + rest_of_line)
    replaced_score = _imbalance(line_prefix + text)
    ends_with_rest = text.rstrip().endswith(rest)
    if not is_closers_only(rest):
        return len(rest_of_line) if ends_with_rest and replaced_score <= kept_score else 0
    if not _is_subsequence("".join(rest.split()), text):
        return 0
    if replaced_score < kept_score or (ends_with_rest and replaced_score == kept_score):
        return len(rest_of_line)
    return 0


def _is_subsequence(needle: str, haystack: str) -> bool:
    remaining = iter(haystack)
    return all(char in remaining for char in needle)


def _imbalance(line: str) -> int:
    """Unmatched brackets plus unpaired quotes: a rough measure of how broken a line is."""
    closers = set(OPEN_TO_CLOSE.values())
    stack: list[str] = []
    unmatched = 0
    for char in line:
        if char in OPEN_TO_CLOSE:
            stack.append(OPEN_TO_CLOSE[char])
        elif char in closers:
            if stack and stack[-1] == char:
                stack.pop()
            else:
                unmatched += 1
    odd_quotes = sum(line.count(quote) % 2 for quote in QUOTE_CHARS)
    return unmatched + len(stack) + odd_quotes
