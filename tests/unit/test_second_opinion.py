"""A refused answer gets a second opinion, unless the user is typing (typingDecodeMs on):
the next keystroke asks again sooner than a second pass would answer. On a blank line, a
first line that repeats the line below is refused, and the model is asked again steered
away from it."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Generator
from typing import cast

from engines.completion_engine import CompletionEngine, FimRequest, GenerationStats
from lsp_server.pipeline import CompletionRequest, suggest
from lsp_server.settings import Settings

DOCUMENT = "def f(a, b):\n    total = a + b\n    \n    return total\n"
CURSOR = DOCUMENT.index("    \n    return") + 4


class EchoBelow:
    """Answers with the line below the cursor (a suggestion the finisher refuses); only the
    parts of `CompletionEngine` that `suggest` uses."""

    def __init__(self, below: str = "return total", steered_answer: str = "") -> None:
        self.last_stats = GenerationStats()
        self.below = below
        self.steered_answer = steered_answer
        self.avoided: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, request: FimRequest, cancel: threading.Event) -> Generator[str, None, None]:
        self.last_stats = GenerationStats(healed=request.heal_last_token)
        if request.avoid_start:
            self.avoided.append(request.avoid_start)
            if self.steered_answer:
                yield from (self.steered_answer, "\n")
                return
        yield from (self.below, "\n")


def _passes(typing: bool, typing_decode_ms: int = 800) -> int:
    engine = cast(CompletionEngine, EchoBelow())
    settings = dataclasses.replace(Settings(), typing_decode_ms=typing_decode_ms)
    request = dataclasses.replace(
        CompletionRequest.at(DOCUMENT, CURSOR, "python", settings), typing=typing
    )
    outcome = suggest(engine, request, threading.Event())
    assert outcome.suggestion is None
    return outcome.stats.passes


def test_a_refused_answer_gets_second_opinions_when_invoked() -> None:
    # Healed, healed steered away from the repeat, plain, plain steered.
    assert _passes(typing=False) == 4


def test_no_second_opinion_while_typing() -> None:
    assert _passes(typing=True) == 1
    assert _passes(typing=True, typing_decode_ms=0) == 4  # typing limits turned off


def test_a_repeat_of_the_next_line_is_asked_again_steered_away_from_it() -> None:
    document = "def f(a, b):\n    total = a + b\n    \n    print(total)\n    return total\n"
    scripted = EchoBelow(below="print(total)", steered_answer="total *= 2")
    request = CompletionRequest.at(
        document, document.index("    \n    print") + 4, "python", Settings()
    )
    result = suggest(cast(CompletionEngine, scripted), request, threading.Event()).suggestion
    assert scripted.avoided == ["print(total)"]
    assert result is not None and result.text == "total *= 2"
