"""The one thread that owns the model.

llama.cpp contexts are not thread-safe, and a 2-core laptop gains nothing from running two
generations at once, so every model call (loading included) runs on a single dedicated
worker thread while the asyncio loop keeps answering the editor. Loading happens once per
model-affecting settings; a failed load is remembered, not retried in a loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from engines.completion_engine import CompletionEngine
from lsp_server.settings import Settings

T = TypeVar("T")
EngineFactory = Callable[[Settings], CompletionEngine]


def engine_key(settings: Settings) -> tuple[object, ...]:
    """The settings that need a new engine when they change."""
    return (
        settings.model_path,
        settings.fim_template,
        settings.context_size,
        settings.effective_threads(),
        settings.cached_documents,
        settings.prompt_cache,
        settings.engine,
        settings.remote_url,
        settings.remote_model,
        settings.remote_api_key_env,
        settings.remote_timeout,
    )


class InferenceWorker:
    def __init__(self, factory: EngineFactory) -> None:
        self._factory = factory
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fimble-inference")
        self._engine: CompletionEngine | None = None
        self._key: tuple[object, ...] | None = None
        self._loading: asyncio.Future[CompletionEngine] | None = None

    def load(self, settings: Settings) -> asyncio.Future[CompletionEngine]:
        """Start loading the engine for `settings` unless it is loaded or loading already."""
        key = engine_key(settings)
        if self._loading is None or self._key != key:
            self._key = key
            loop = asyncio.get_running_loop()
            self._loading = loop.run_in_executor(self._executor, self._replace_engine, settings)
        return self._loading

    def _replace_engine(self, settings: Settings) -> CompletionEngine:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self._engine = self._factory(settings)
        return self._engine

    async def engine(self, settings: Settings) -> CompletionEngine:
        """The loaded engine; waits for a load in progress. Raises what loading raised."""
        return await asyncio.shield(self.load(settings))

    async def run(
        self,
        job: Callable[[CompletionEngine, threading.Event], T],
        engine: CompletionEngine,
        cancel: threading.Event,
    ) -> T:
        """Run `job` on the worker thread; cancelling the caller sets `cancel`."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, job, engine, cancel)
        try:
            return await future
        except asyncio.CancelledError:
            cancel.set()
            raise

    def shutdown(self) -> None:
        def close_engine() -> None:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

        self._executor.submit(close_engine)
        self._executor.shutdown(wait=False, cancel_futures=True)
