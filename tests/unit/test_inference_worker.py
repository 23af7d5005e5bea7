"""The inference worker's bookkeeping, with a stand-in engine: no model is needed to check
which jobs it waits for and which it refuses to run."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from engines.completion_engine import CompletionCancelled, CompletionEngine
from lsp_server.inference_worker import InferenceWorker
from lsp_server.settings import Settings


async def test_settled_waits_for_a_request_whose_caller_was_cancelled() -> None:
    engine = cast(CompletionEngine, SimpleNamespace(model_file=None, close=lambda: None))
    worker = InferenceWorker(lambda settings, progress: engine)
    await worker.engine(Settings())
    started, finish = threading.Event(), threading.Event()
    finished: list[str] = []

    def job(engine: Any, cancel: threading.Event) -> None:
        started.set()
        finish.wait(10)
        finished.append("cancelled" if cancel.is_set() else "ran")

    caller = asyncio.ensure_future(worker.run(job, engine, threading.Event(), request=True))
    await asyncio.to_thread(started.wait, 10)
    caller.cancel()
    await asyncio.gather(caller, return_exceptions=True)
    settling = asyncio.ensure_future(worker.settled())
    await asyncio.sleep(0.05)
    assert not settling.done(), "settled returned while the cancelled caller's job still ran"
    finish.set()
    await asyncio.wait_for(settling, 10)
    assert finished == ["cancelled"]  # the job saw its cancel event
    worker.shutdown()


async def test_no_job_runs_on_a_model_file_rewritten_since_it_loaded(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + bytes(1000))
    engine = cast(CompletionEngine, SimpleNamespace(model_file=model, close=lambda: None))
    worker = InferenceWorker(lambda settings, progress: engine)
    await worker.engine(Settings())
    ran: list[bool] = []

    def job(engine: Any, cancel: threading.Event) -> None:
        ran.append(True)

    await worker.run(job, engine, threading.Event())
    with model.open("r+b") as stream:
        stream.truncate(10)  # in place, as `cp` over it does
    with pytest.raises(CompletionCancelled, match="changed on disk"):
        await worker.run(job, engine, threading.Event())
    assert ran == [True]
    worker.shutdown()
