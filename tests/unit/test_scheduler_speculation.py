"""When the Enter comes before the next line's speculation has finished: the scheduler's
rules, with a stand-in engine and a speculation whose pace the test sets (the real model's
timing cannot be held still; tests/e2e/test_speculation.py runs the real thing)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from context import Suggestion
from context.cross_file_context import CrossFileSnippets
from context.cursor import Cursor
from context.next_line import after_enter
from engines.completion_engine import CompletionCancelled, CompletionEngine, GenerationStats
from lsp_server import scheduler as scheduler_module
from lsp_server.inference_worker import InferenceWorker
from lsp_server.pipeline import CompletionRequest, Outcome
from lsp_server.scheduler import Scheduler
from lsp_server.settings import Settings

URI = "file:///project/shapes.py"
SOURCE = "def describe(width, height):\n    size = width * height\n    label = "
SHOWN = Suggestion("f'{size} square units'", 0)
NEXT_LINE = Suggestion("return label", 0)
MODEL_ANSWER = Suggestion("print(label)", 0)


class Speculation:
    """The stand-in for the pipeline's `speculate`: it reaches the model when `ask` is set
    and answers when `answer` is set, or gives up when stopped."""

    def __init__(self) -> None:
        self.ask, self.asking, self.answer, self.stopped = (threading.Event() for _ in range(4))
        self.model_asked: list[str] = []  # the texts the (stand-in) model was asked about

    def __call__(
        self, engine: Any, request: CompletionRequest, cancel: threading.Event, asking: Any
    ) -> Outcome:
        while not self.ask.wait(0.01):
            if cancel.is_set():
                return self.stop()
        asking()
        self.asking.set()
        while not self.answer.wait(0.01):
            if cancel.is_set():
                return self.stop()
        return Outcome(NEXT_LINE, GenerationStats())

    def stop(self) -> Outcome:
        self.stopped.set()
        raise CompletionCancelled()


@pytest.fixture
def speculation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Speculation]:
    speculation = Speculation()

    def suggest(engine: Any, request: CompletionRequest, cancel: threading.Event) -> Outcome:
        speculation.model_asked.append(request.text)
        answer = SHOWN if request.text == SOURCE else MODEL_ANSWER
        return Outcome(answer, GenerationStats())

    monkeypatch.setattr(scheduler_module, "speculate", speculation)
    monkeypatch.setattr(scheduler_module, "suggest", suggest)
    yield speculation
    speculation.ask.set()
    speculation.answer.set()


async def shown(speculation: Speculation) -> tuple[Scheduler, CompletionRequest]:
    """A scheduler that answered SOURCE with SHOWN and is speculating the next line; the
    request the editor sends once SHOWN is accepted and Enter pressed."""
    engine = cast(CompletionEngine, SimpleNamespace(model_file=None, close=lambda: None))
    worker = InferenceWorker(lambda settings, progress: engine)

    async def load() -> CompletionEngine:
        return await worker.engine(Settings())

    async def no_context(request: CompletionRequest, engine: CompletionEngine) -> Any:
        return CrossFileSnippets()

    scheduler = Scheduler(worker, load, no_context, tell=lambda message: None)
    settings = Settings(background_prefill=False)
    request = CompletionRequest(
        URI, SOURCE, Cursor.at(SOURCE, len(SOURCE)), "python", settings, True, 1
    )
    assert await scheduler.answer(request, lambda: 1) == SHOWN
    predicted = after_enter(SOURCE, len(SOURCE), SHOWN.text, 0, "python")
    assert predicted is not None
    cursor = Cursor.at(predicted.text, predicted.offset)
    enter = CompletionRequest(URI, predicted.text, cursor, "python", settings, True, 2)
    scheduler.edited(enter)
    return scheduler, enter


def totals(scheduler: Scheduler) -> dict[str, int]:
    return cast(dict[str, int], scheduler.requests.summary()["totals"])


async def until(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 10)


async def test_enter_while_the_model_is_asked_waits_for_the_speculation(
    speculation: Speculation,
) -> None:
    scheduler, enter = await shown(speculation)
    speculation.ask.set()
    await until(speculation.asking)
    answering = asyncio.ensure_future(scheduler.answer(enter, lambda: 2))
    await asyncio.sleep(0.2)
    assert not answering.done(), "answered without the speculation's answer"
    speculation.answer.set()
    assert await asyncio.wait_for(answering, 10) == NEXT_LINE
    assert not speculation.stopped.is_set()
    assert speculation.model_asked == [SOURCE]  # the Enter asked the model nothing
    assert scheduler.requests.summary()["source"] == "speculation"
    assert totals(scheduler)["speculation_awaited"] == 1


async def test_enter_while_the_speculation_fills_its_run_stops_it(
    speculation: Speculation,
) -> None:
    """Before the model is asked, the speculation may still be evaluating a run of the
    document (seconds for a new file): the request is not held up by it."""
    scheduler, enter = await shown(speculation)
    answer = await asyncio.wait_for(scheduler.answer(enter, lambda: 2), 10)
    assert answer == MODEL_ANSWER
    assert speculation.stopped.is_set()
    assert speculation.model_asked == [SOURCE, enter.text]
    assert "speculation_awaited" not in totals(scheduler)


async def test_an_edit_ends_the_wait(speculation: Speculation) -> None:
    scheduler, enter = await shown(speculation)
    speculation.ask.set()
    await until(speculation.asking)
    answering = asyncio.ensure_future(scheduler.answer(enter, lambda: 2))
    await asyncio.sleep(0.1)
    scheduler.drop_stale(URI)  # the user typed on
    assert await asyncio.wait_for(answering, 10) is None
    assert scheduler.requests.summary()["source"] == "cancelled"
