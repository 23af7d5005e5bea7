"""What runs on the inference worker, and when.

One thread owns the model (`inference_worker`), so every piece of model work competes for
it. The rules live here, in one place:
- a request comes first: it stops every idle or background job of every document at once
  (`make_way`), and a newer request for the same document supersedes the one in flight;
- an edit drops the request in flight for the older text (`drop_stale`: Helix never cancels);
- idle work (evaluating the prompt at the edit after a pause, growing the full window after
  a quick start) waits for a pause, runs in chunks the engine can stop between, and keeps
  what it finished;
- after an answer, the suggestion for the next line (the one just shown accepted, Enter
  pressed) is computed in the background, so that Enter finds it in the answer memory;
- answers that need no model (typing through the last suggestion, a place seen recently, a
  speculated next line) never touch the worker;
- a request for exactly the place a running speculation is asking the model about waits for
  it rather than stopping it (its work would be thrown away and done again).
It knows nothing of LSP: the server hands it `CompletionRequest`s and callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from context import Suggestion
from context.cross_file_context import CrossFileSnippets
from context.next_line import after_enter
from engines.completion_engine import (
    CompletionCancelled,
    CompletionEngine,
    EngineUnavailable,
    GenerationStats,
)
from lsp_server.inference_worker import InferenceWorker
from lsp_server.pipeline import CompletionRequest, Outcome, prefill, suggest
from lsp_server.pipeline.document_runs import fill_runs
from lsp_server.pipeline.suggestion import speculate
from lsp_server.request_log import (
    BACKGROUND_STOPPED,
    CANCELLED,
    DOCUMENT_RUNS,
    IDLE_PREFILL,
    MODEL,
    SPECULATED,
    SPECULATION,
    SPECULATION_ASKING,
    SPECULATION_AWAITED,
    TYPING_THROUGH,
    RequestLog,
)
from lsp_server.suggestion_memory import SuggestionMemory

logger = logging.getLogger(__name__)
T = TypeVar("T")
# How long the editor must be idle after an edit before the prompt is pre-filled.
IDLE_PREFILL_S = 0.4

LoadEngine = Callable[[], Awaitable[CompletionEngine | None]]
GatherContext = Callable[[CompletionRequest, CompletionEngine], Awaitable[CrossFileSnippets]]
Job = Callable[[CompletionEngine, threading.Event], T]


@dataclass(frozen=True)
class BackgroundJob:
    """Work no request waits for: one per document and kind at a time."""

    uri: str
    kind: str  # what the request log counts when it runs to its end
    stop_on_edit: bool  # an edit of the document makes it pointless


@dataclass
class Speculation:
    """A next line being worked out: the place it is for, and how far it has got."""

    text: str
    offset: int
    asking: threading.Event = field(default_factory=threading.Event)  # the model is asked
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # answer kept, or gave up

    def is_for(self, request: CompletionRequest) -> bool:
        return (self.text, self.offset) == (request.text, request.offset)


BackgroundWork = Callable[[BackgroundJob, threading.Event], Awaitable[bool]]
RequestWork = Callable[[CompletionEngine, CompletionRequest, threading.Event], object]


class Scheduler:
    def __init__(
        self,
        worker: InferenceWorker,
        load_engine: LoadEngine,
        gather_context: GatherContext,
        tell: Callable[[str], None],
        recovered: Callable[[], None] = lambda: None,
    ) -> None:
        self.worker = worker
        self.memory = SuggestionMemory()
        self.requests = RequestLog()
        self._load_engine = load_engine
        self._gather_context = gather_context
        self._tell = tell  # an engine fault, shown once until `recovered` is called
        self._recovered = recovered
        self._latest: dict[str, threading.Event] = {}  # per document: the request in flight
        self._idle: dict[str, asyncio.TimerHandle] = {}  # per document: a pending idle job
        self._background: dict[BackgroundJob, threading.Event] = {}  # stopped by any request
        self._tasks: set[asyncio.Future[None]] = set()
        # per document: the last model answer shown, which a speculation follows
        self._answered: dict[str, tuple[CompletionRequest, Suggestion]] = {}
        self._speculating: dict[str, Speculation] = {}  # per document: the one running

    # -- requests ------------------------------------------------------------------------

    async def answer(
        self, request: CompletionRequest, version_of: Callable[[], int | None]
    ) -> Suggestion | None:
        """The suggestion for `request`; None where nothing fits or the text moved on."""
        started = time.perf_counter()
        self.stop_idle(request.document)
        remembered = self._remembered(request, started)
        if remembered is None:
            remembered = await self._awaited_speculation(request, started)
        if remembered is not None:
            return remembered[0]
        self.make_way()  # answers from memory above leave the worker's work alone
        # Registered before loading and gathering: an edit or a newer request meanwhile
        # cancels it before it reaches the worker.
        cancel = self.supersede(request.document)
        try:
            asked = await self._ask_model(request, cancel, started)
        finally:
            if self._latest.get(request.document) is cancel:
                del self._latest[request.document]
        if asked is None:
            return None
        request, outcome = asked
        if version_of() != request.version:
            self.requests.record(CANCELLED, outcome.stats, started=started)
            return None  # the document changed meanwhile: the answer is for text gone
        self.memory.remember(request.document, request.text, request.offset, outcome.suggestion)
        self.requests.record(MODEL, outcome.stats, started=started)
        self._after_answer(request, outcome.suggestion)
        return outcome.suggestion

    def _remembered(
        self, request: CompletionRequest, started: float
    ) -> tuple[Suggestion | None] | None:
        """(answer,) where no model call is needed, else None."""
        if not request.settings.answer_memory:
            return None
        uri, text, offset = request.document, request.text, request.offset
        source: str | None = TYPING_THROUGH
        answer = self.memory.typed_through(uri, text, offset)
        if answer is None:
            source, answer = self.memory.recall(uri, text, offset)
        if source is None:
            return None
        if source == SPECULATION:
            self.memory.remember(uri, text, offset, answer)  # shown now: typed through next
        self.supersede(uri)
        self.requests.record(source, None, started=started)
        return (answer,)

    async def _awaited_speculation(
        self, request: CompletionRequest, started: float
    ) -> tuple[Suggestion | None] | None:
        """(answer,) once the speculation running for exactly this request's place has
        kept its answer, where the model is already being asked for it; None where there is
        none (or it ended without an answer): then the model is asked as usual. A newer
        request or an edit of the document ends the wait."""
        speculation = self._speculating.get(request.document)
        if (
            not request.settings.answer_memory
            or speculation is None
            or not speculation.asking.is_set()
            or not speculation.is_for(request)
        ):
            return None
        self.requests.count(SPECULATION_AWAITED)
        cancel = self.supersede(request.document)
        while not speculation.finished.is_set() and not cancel.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(speculation.finished.wait(), 0.05)
        if cancel.is_set():
            self.requests.record(CANCELLED, GenerationStats(passes=0), started=started)
            return (None,)
        return self._remembered(request, started)

    async def _ask_model(
        self, request: CompletionRequest, cancel: threading.Event, started: float
    ) -> tuple[CompletionRequest, Outcome] | None:
        """The request with its context, and the model's outcome; None where there is no
        engine or `cancel` was set before the job started (recorded: no model pass)."""
        engine = await self._load_engine()
        if engine is None:
            return None
        if not cancel.is_set():
            request = request.with_cross_file(await self._gather_context(request, engine))
        if cancel.is_set():
            self.requests.record(CANCELLED, GenerationStats(passes=0), started=started)
            return None

        def job(engine: CompletionEngine, cancel: threading.Event) -> Outcome:
            outcome = suggest(engine, request, cancel).stopped_if(cancel)
            if outcome.cancelled:  # recorded here: a cancelled caller awaits no result
                self.requests.record(CANCELLED, outcome.stats, started=started)
            return outcome

        outcome = await self._foreground(job, engine, cancel)
        return (request, outcome) if outcome is not None and not outcome.cancelled else None

    async def _foreground(
        self, job: Job[T], engine: CompletionEngine, cancel: threading.Event
    ) -> T | None:
        """Run a request's `job`; None if the engine went away or could not answer."""
        try:
            result = await self.worker.run(job, engine, cancel, request=True)
        except CompletionCancelled:
            return None
        except EngineUnavailable as error:
            self._tell(str(error))
            return None
        self._recovered()  # the engine answered: its next fault is news again
        return result

    def supersede(self, uri: str, event: threading.Event | None = None) -> threading.Event:
        """A cancel event for a new request; the previous one for this document is cancelled."""
        previous = self._latest.get(uri)
        if previous is not None:
            previous.set()
        event = event if event is not None else threading.Event()
        self._latest[uri] = event
        return event

    def drop_stale(self, uri: str) -> None:
        """The document changed: its request in flight is for an older version, drop it."""
        previous = self._latest.pop(uri, None)
        if previous is not None:
            previous.set()

    # -- idle and background work ---------------------------------------------------------

    def edited(self, request: CompletionRequest | None) -> None:
        """After an edit, once the editor is idle, evaluate the prompt at the edit's end; a
        speculation the edit leaves behind is stopped."""
        if request is None:
            return
        self._forget_speculation_unless_on_the_way(request)
        self.stop_idle(request.document)
        if not request.settings.background_prefill:
            return
        loop = asyncio.get_running_loop()
        self._idle[request.document] = loop.call_later(
            IDLE_PREFILL_S, lambda: self._idle_prefill(request)
        )

    def _after_answer(self, request: CompletionRequest, suggestion: Suggestion | None) -> None:
        settings = request.settings
        if request.typing and settings.background_prefill and settings.quick_start_tokens:
            # The user is typing here: evaluate the full window (after a quick start) in the
            # time until the next request, which stops it and keeps what was done.
            self._idle_prefill(request)
        elif suggestion is not None and speculates(request):
            self._answered[request.document] = (request, suggestion)
            self._background_job(
                BackgroundJob(request.document, SPECULATED, False), self._speculate
            )
        self.fill_document_runs(request)

    def fill_document_runs(self, request: CompletionRequest | None) -> None:
        """Evaluate the document's runs in the background (opened, answered, idle after an
        edit), the one serving the cursor first; progress survives being stopped."""
        if request is None or not request.settings.background_prefill:
            return
        if not request.settings.kv_reuse:
            return
        self._stop_runs_of_others(request.document)
        missing: list[int] = []

        def fill(
            engine: CompletionEngine, request: CompletionRequest, cancel: threading.Event
        ) -> None:
            missing.append(fill_runs(engine, request, cancel))

        async def run(job: BackgroundJob, cancel: threading.Event) -> bool:
            await asyncio.sleep(IDLE_PREFILL_S)  # the next keystroke usually comes first
            return await self._on_worker(request, cancel, fill) and missing == [0]

        self._background_job(BackgroundJob(request.document, DOCUMENT_RUNS, True), run)

    def _stop_runs_of_others(self, uri: str) -> None:
        """The document in front of the user goes first: other documents' runs stop (what
        they filled is kept) and go on when those documents are used again."""
        for job, cancel in self._background.items():
            if job.kind == DOCUMENT_RUNS and job.uri != uri:
                cancel.set()

    def _forget_speculation_unless_on_the_way(self, request: CompletionRequest) -> None:
        answered = self._answered.get(request.document)
        if answered is None:
            return
        shown, suggestion = answered
        predicted = after_enter(
            shown.text, shown.offset, suggestion.text, suggestion.replace_chars, shown.language_id
        )
        if predicted is None or not predicted.on_the_way(shown.text, shown.offset, request.text):
            del self._answered[request.document]
            running = self._background.get(BackgroundJob(request.document, SPECULATED, False))
            if running is not None:
                running.set()

    def accepted(self, uri: str) -> None:
        """The editor says the last suggestion was accepted: have the next line ready (again,
        if a request stopped the speculation that followed the answer)."""
        job = BackgroundJob(uri, SPECULATED, False)
        if uri in self._answered and job not in self._background:
            self._background_job(job, self._speculate)

    async def _speculate(self, job: BackgroundJob, cancel: threading.Event) -> bool:
        """The suggestion the next line will ask for once the one just shown is accepted and
        Enter pressed, kept in the answer memory."""
        answered = self._answered.get(job.uri)
        if answered is None:
            return False  # an edit went elsewhere meanwhile
        request, suggestion = answered
        predicted = after_enter(
            request.text,
            request.offset,
            suggestion.text,
            suggestion.replace_chars,
            request.language_id,
        )
        if (
            predicted is None
            or self.memory.recall(job.uri, predicted.text, predicted.offset)[0] is not None
        ):
            return False  # not predictable, or known already
        ahead = request.moved_to(predicted.text, predicted.offset)
        speculation = Speculation(ahead.text, ahead.offset)
        outcomes: list[Outcome] = []

        def asking() -> None:  # on the worker thread
            speculation.asking.set()
            self.requests.count(SPECULATION_ASKING)

        def ask(
            engine: CompletionEngine, ahead: CompletionRequest, cancel: threading.Event
        ) -> None:
            outcome = speculate(engine, ahead, cancel, asking)
            if outcome is not None:
                outcomes.append(outcome)

        self._speculating[job.uri] = speculation
        try:
            ran = await self._on_worker(ahead, cancel, ask)
            if not ran or not outcomes or outcomes[0].cancelled:
                return False
            self.memory.speculate(job.uri, ahead.text, ahead.offset, outcomes[0].suggestion)
            return True
        finally:
            speculation.finished.set()
            if self._speculating.get(job.uri) is speculation:
                del self._speculating[job.uri]

    def _idle_prefill(self, request: CompletionRequest) -> None:
        self._idle.pop(request.document, None)
        job = BackgroundJob(request.document, IDLE_PREFILL, True)

        async def run(job: BackgroundJob, cancel: threading.Event) -> bool:
            return await self._on_worker(request, cancel, prefill)

        self._background_job(job, run)
        self.fill_document_runs(request)

    async def _on_worker(
        self, request: CompletionRequest, cancel: threading.Event, work: RequestWork
    ) -> bool:
        """Run background `work(engine, request, cancel)` on the worker, the request's
        cross-file snippets gathered first, unless `cancel` is set first; True when it ran to
        its end."""
        engine = await self._load_engine()
        if engine is None or cancel.is_set():
            return False
        request = request.with_cross_file(await self._gather_context(request, engine))
        if cancel.is_set():
            return False
        try:
            await self.worker.run(
                lambda engine, cancel: work(engine, request, cancel), engine, cancel
            )
        except CompletionCancelled:
            return False
        return not cancel.is_set()

    def _background_job(self, job: BackgroundJob, work: BackgroundWork) -> None:
        """Start `work` now, stoppable at once by any request (`make_way`) and, where the job
        says so, by an edit of its document; counted under its kind when it ran to its end."""
        cancel = threading.Event()
        previous = self._background.get(job)
        if previous is not None:
            previous.set()
        self._background[job] = cancel
        if job.stop_on_edit and self._latest.get(job.uri) is None:
            self._latest[job.uri] = cancel

        async def run() -> None:
            try:
                if await work(job, cancel):
                    self.requests.count(job.kind)
                elif cancel.is_set():
                    self.requests.count(BACKGROUND_STOPPED)
            except Exception as error:  # background work is optional; requests report errors
                logger.warning("background work failed: %s", type(error).__name__)
            finally:
                if self._background.get(job) is cancel:
                    del self._background[job]
                if self._latest.get(job.uri) is cancel:
                    del self._latest[job.uri]

        self.spawn(run())

    def closed(self, uri: str) -> None:
        """A closed document has no work left: its idle timer, background jobs and kept
        speculation go (work run for it later would bring its text back as context)."""
        self.stop_idle(uri)
        self._answered.pop(uri, None)
        for job, cancel in self._background.items():
            if job.uri == uri:
                cancel.set()

    def stop_idle(self, uri: str) -> None:
        timer = self._idle.pop(uri, None)
        if timer is not None:
            timer.cancel()

    def make_way(self) -> None:
        """A request is here: no idle or background work, of any document, may keep the
        worker from it."""
        for uri in list(self._idle):
            self.stop_idle(uri)
        for cancel in self._background.values():
            cancel.set()

    def busy_in_background(self) -> bool:
        return bool(self._background)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` on the loop, keeping a reference until it ends."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def speculates(request: CompletionRequest) -> bool:
    """Whether a next line is speculated after answering `request`: with the local engine
    only where the setting allows. With a remote engine every speculation would be one more
    request the user never asked for, sending code and spending the server's time and rate
    limits, so there is none."""
    return request.settings.speculate_next_line and not request.settings.is_remote()
