"""A refused answer gets a second opinion, unless the user is typing (typingDecodeMs on):
the next keystroke asks again sooner than a second pass would answer."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Generator
from typing import cast

from engines.completion_engine import CompletionEngine, FimRequest, GenerationStats
from lsp_server.settings import Settings
from lsp_server.suggestion_pipeline import suggest

DOCUMENT = "def f(a, b):\n    total = a + b\n    \n    return total\n"
CURSOR = DOCUMENT.index("    \n    return") + 4


class EchoBelow:
    """Answers with the line below the cursor (a suggestion the finisher refuses); only the
    parts of `CompletionEngine` that `suggest` uses."""

    def __init__(self) -> None:
        self.last_stats = GenerationStats()

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, request: FimRequest, cancel: threading.Event) -> Generator[str, None, None]:
        self.last_stats = GenerationStats(healed=request.heal_last_token)
        yield from ("return", " total", "\n")


def _passes(typing: bool, typing_decode_ms: int = 800) -> int:
    engine = cast(CompletionEngine, EchoBelow())
    settings = dataclasses.replace(Settings(), typing_decode_ms=typing_decode_ms)
    passes: list[GenerationStats] = []
    result = suggest(
        engine,
        DOCUMENT,
        CURSOR,
        "python",
        settings,
        threading.Event(),
        typing=typing,
        passes=passes,
    )
    assert result is None
    return len(passes)


def test_a_refused_answer_gets_a_second_opinion_when_invoked() -> None:
    assert _passes(typing=False) == 2


def test_no_second_opinion_while_typing() -> None:
    assert _passes(typing=True) == 1
    assert _passes(typing=True, typing_decode_ms=0) == 2  # typing limits turned off
