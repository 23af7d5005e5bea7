"""The one thread that owns the model.

llama.cpp contexts are not thread-safe, and a 2-core laptop gains nothing from running two
generations at once, so every model call (loading included) runs on a single dedicated
worker thread while the asyncio loop keeps answering the editor. Loading happens once per
model-affecting settings; a failed load is remembered, not retried in a loop. The model
file is watched: when it is replaced, rewritten, truncated or removed while the server runs,
the next request loads it again (before llama.cpp touches pages that may no longer exist),
and a load that failed is retried once the file changes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from engines.completion_engine import CompletionCancelled, CompletionEngine
from engines.load_progress import LoadProgress, no_progress
from engines.model_catalog import model_file_for
from engines.model_files import FileIdentity, file_identity
from lsp_server.settings import Settings

T = TypeVar("T")
EngineFactory = Callable[[Settings, LoadProgress], CompletionEngine]


def engine_key(settings: Settings) -> tuple[object, ...]:
    """The settings that need a new engine when they change."""
    return (
        settings.model_path,
        settings.fim_template,
        settings.context_size,
        settings.kv_cache_type,
        settings.flash_attention,
        settings.effective_threads(),
        settings.cached_documents,
        settings.document_runs,
        settings.kv_reuse,
        settings.engine,
        settings.remote_url,
        settings.remote_model,
        settings.remote_api_key_env,
        settings.remote_timeout,
        settings.remote_ca_file,
    )


def model_file_of(settings: Settings) -> Path | None:
    """The model file the settings load: the default's, a preset's or a path (None: a
    server, or a preset without a known file)."""
    if settings.engine != "local":
        return None
    return model_file_for(settings.model_path)


class InferenceWorker:
    def __init__(self, factory: EngineFactory, progress: LoadProgress = no_progress) -> None:
        self._factory = factory
        self._progress = progress  # called on the worker thread, at each step of a load
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fimble-inference")
        self._engine: CompletionEngine | None = None
        self._key: tuple[object, ...] | None = None
        self._loading: asyncio.Future[CompletionEngine] | None = None
        # Requests' jobs not yet finished on the thread (a cancelled caller leaves its job
        # running until it notices): `settled` waits for them.
        self._requests: set[asyncio.Future[object]] = set()
        # The model file as it was when the current engine loaded (or failed to).
        self._watched: tuple[Path, FileIdentity | None] | None = None

    def load(self, settings: Settings) -> asyncio.Future[CompletionEngine]:
        """Start loading the engine for `settings` unless it is loaded or loading already."""
        key = engine_key(settings)
        if self._loading is None or self._key != key:
            self._key = key
            self._watched = None
            loop = asyncio.get_running_loop()
            self._loading = loop.run_in_executor(self._executor, self._replace_engine, settings)
        return self._loading

    def model_file_change(self, settings: Settings) -> str | None:
        """If the model file changed on disk since it was loaded, start a reload and say so."""
        if self._loading is None or not self._loading.done():
            return None
        changed = self._changed_model_file()
        if changed is None:
            return None
        path, now = changed
        self._loading = None
        self.load(settings)
        what = "was removed" if now is None else "changed on disk"
        return f"the model file {path} {what}; fimble is loading the model again."

    def _replace_engine(self, settings: Settings) -> CompletionEngine:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        expected = model_file_of(settings)
        before = file_identity(expected) if expected is not None else None
        try:
            self._engine = self._factory(settings, self._progress)
        except BaseException:
            # Watched as it was before this try: fixing it (a pull, a copy) reloads.
            self._watched = (expected, before) if expected is not None else None
            raise
        loaded = self._engine.model_file
        self._watched = (loaded, file_identity(loaded)) if loaded is not None else None
        return self._engine

    async def engine(self, settings: Settings) -> CompletionEngine:
        """The loaded engine; waits for a load in progress. Raises what loading raised."""
        return await asyncio.shield(self.load(settings))

    async def run(
        self,
        job: Callable[[CompletionEngine, threading.Event], T],
        engine: CompletionEngine,
        cancel: threading.Event,
        request: bool = False,
    ) -> T:
        """Run `job` on the worker thread; cancelling the caller sets `cancel`. A `request`
        job is waited for by `settled` even after its caller was cancelled."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._run_current, job, engine, cancel)
        if request:
            self._requests.add(future)  # type: ignore[arg-type]
            future.add_done_callback(self._requests.discard)
        try:
            # Shielded: cancelling the caller must not cancel `future` itself, which would
            # leave `_requests` while the thread still runs the job.
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()
            raise

    def _run_current(
        self,
        job: Callable[[CompletionEngine, threading.Event], T],
        engine: CompletionEngine,
        cancel: threading.Event,
    ) -> T:
        if engine is not self._engine:  # replaced (and closed) while this job waited
            raise CompletionCancelled("the engine was reloaded")
        if self._changed_model_file() is not None:
            # Rewritten since it loaded: a mapped model would read pages cut off (SIGBUS).
            # The next request sees the change and reloads.
            raise CompletionCancelled("the model file changed on disk")
        return job(engine, cancel)

    def _changed_model_file(self) -> tuple[Path, FileIdentity | None] | None:
        """(the watched model file, its identity now) where it changed since it loaded."""
        watched = self._watched
        if watched is None:
            return None
        path, identity = watched
        now = file_identity(path)
        return None if now == identity else (path, now)

    async def settled(self) -> None:
        """Wait until every request's job handed to the thread so far has finished."""
        if self._requests:
            await asyncio.wait(set(self._requests))

    def shutdown(self) -> None:
        def close_engine() -> None:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

        self._executor.submit(close_engine)
        self._executor.shutdown(wait=False, cancel_futures=True)
