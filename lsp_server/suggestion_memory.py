"""Answers that need no model: typing through a suggestion, recently seen contexts, and
the next line computed ahead.

When the characters typed since a suggestion was shown are the start of it, the rest of
that suggestion is still the answer (after accepting one line of a multi-line suggestion,
the next lines follow the same way). When the text around the cursor is one seen recently
(the user deleted back, or came back to a spot), the answer given then is given again; the
same holds for a place predicted ahead (the next line after an accepted suggestion), whose
answer was computed in the background. All are keyed by document and checked against the
text as it really is; nothing here calls the model or knows LSP.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachetools import LRUCache

from context import Suggestion
from lsp_server.request_log import RESULT_CACHE, SPECULATION

# The text around the cursor that identifies "the same place" for the result cache.
CONTEXT_BEFORE = 4000
CONTEXT_AFTER = 1000


@dataclass(frozen=True)
class ShownSuggestion:
    text: str
    offset: int
    suggestion: Suggestion


class SuggestionMemory:
    """The last suggestion per document, and a bounded cache of recent answers."""

    def __init__(self, documents: int = 64, results: int = 256) -> None:
        self._shown: LRUCache[str, ShownSuggestion] = LRUCache(maxsize=documents)
        self._results: LRUCache[tuple[str, str, str], tuple[str, Suggestion | None]] = LRUCache(
            maxsize=results
        )

    def remember(self, uri: str, text: str, offset: int, suggestion: Suggestion | None) -> None:
        """The answer shown at `offset`: typed through next, and recalled at this place."""
        self._results[_place(uri, text, offset)] = (RESULT_CACHE, suggestion)
        if suggestion is not None:
            self._shown[uri] = ShownSuggestion(text, offset, suggestion)
        else:
            self._shown.pop(uri, None)

    def typed_through(self, uri: str, text: str, offset: int) -> Suggestion | None:
        """The rest of the last suggestion, if the user has been typing it."""
        shown = self._shown.get(uri)
        if shown is None or offset <= shown.offset:
            return None
        typed_length = offset - shown.offset
        if len(text) != len(shown.text) + typed_length:
            return None
        typed = text[shown.offset : offset]
        rest = shown.suggestion.text
        if not rest.startswith(typed) or not rest[len(typed) :].strip():
            return None
        if (
            text[offset:] != shown.text[shown.offset :]
            or text[: shown.offset] != shown.text[: shown.offset]
        ):
            return None
        return Suggestion(rest[len(typed) :], shown.suggestion.replace_chars)

    def speculate(self, uri: str, text: str, offset: int, suggestion: Suggestion | None) -> None:
        """The answer computed ahead for a place the user is expected to reach."""
        self._results[_place(uri, text, offset)] = (SPECULATION, suggestion)

    def recall(self, uri: str, text: str, offset: int) -> tuple[str | None, Suggestion | None]:
        """(where the answer came from, answer) for a place seen or predicted; (None, None)
        for a place not known."""
        return self._results.get(_place(uri, text, offset), (None, None))

    def forget(self, uri: str) -> None:
        self._shown.pop(uri, None)


def _place(uri: str, text: str, offset: int) -> tuple[str, str, str]:
    return (
        uri,
        text[max(0, offset - CONTEXT_BEFORE) : offset],
        text[offset : offset + CONTEXT_AFTER],
    )
