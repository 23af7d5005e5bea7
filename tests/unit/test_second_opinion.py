"""A refused answer gets a second opinion, unless the user is typing (typingDecodeMs on):
the next keystroke asks again sooner than a second pass would answer."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Generator
from pathlib import Path

from engines.completion_engine import EngineDescription, FimRequest, GenerationStats
from lsp_server.settings import Settings
from lsp_server.suggestion_pipeline import suggest

DOCUMENT = "def f(a, b):\n    total = a + b\n    \n    return total\n"
CURSOR = DOCUMENT.index("    \n    return") + 4


class EchoBelow:
    """Answers with the line below the cursor (a suggestion the finisher refuses)."""

    def __init__(self) -> None:
        self.requests: list[FimRequest] = []
        self._stats = GenerationStats()

    @property
    def description(self) -> EngineDescription:
        return EngineDescription("scripted", "none")

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    @property
    def model_file(self) -> Path | None:
        return None

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, request: FimRequest, cancel: threading.Event) -> Generator[str, None, None]:
        self.requests.append(request)
        self._stats = GenerationStats(healed=request.heal_last_token)
        yield from ("return", " total", "\n")

    def prefill(self, request: FimRequest, cancel: threading.Event) -> None:
        pass

    def pending_tokens(self, request: FimRequest) -> int:
        return 0

    def close(self) -> None:
        pass


def _passes(typing: bool, typing_decode_ms: int = 800) -> int:
    engine = EchoBelow()
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
