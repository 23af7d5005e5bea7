"""The language server: pygls wiring, and nothing else.

`create_server()` builds a server whose handlers are short: they read the document,
check the request, hand the work to the inference worker and turn the result into LSP
types. The logic lives in `context/`, `engines/` and the pure modules beside this one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from context import Suggestion
from engines.completion_engine import (
    CompletionCancelled,
    CompletionEngine,
    EngineUnavailable,
    GenerationStats,
)
from engines.fim_templates import FimTemplateError
from engines.model_files import ModelFileError
from lsp_server import __version__
from lsp_server.completion_items import inline_completion_list, popup_completion_list
from lsp_server.engine_loading import load_engine
from lsp_server.inference_worker import EngineFactory, InferenceWorker, engine_key
from lsp_server.protocol import FimbleProtocol
from lsp_server.request_log import (
    CANCELLED,
    IDLE_PREFILL,
    MODEL,
    RESULT_CACHE,
    TYPING_THROUGH,
    RequestLog,
)
from lsp_server.settings import Settings, parse_settings
from lsp_server.suggestion_memory import SuggestionMemory
from lsp_server.suggestion_pipeline import CrossFileRequest, prefill, request_cost, suggest
from lsp_server.workspace_context import WorkspaceContext

logger = logging.getLogger(__name__)
_progress_tokens = itertools.count(1)
STATS_REQUEST = "fimble/stats"
PROGRESS_TOKEN = "fimble/model-load/{}"
# How long the editor must be idle after an edit before the prompt is pre-filled.
IDLE_PREFILL_S = 0.4


@dataclass(frozen=True)
class Cursor:
    """A request's cursor, checked: the document text, offset and line around it."""

    text: str
    offset: int
    position: types.Position
    line_prefix: str
    rest_of_line: str
    language_id: str


class FimbleServer(LanguageServer):
    def __init__(self, engine_factory: EngineFactory) -> None:
        super().__init__("fimble", __version__, protocol_cls=FimbleProtocol)
        self.settings = Settings()
        self.worker = InferenceWorker(engine_factory)
        self._reported: set[str] = set()
        self._latest: dict[str, threading.Event] = {}
        self.memory = SuggestionMemory()
        self._idle: dict[str, asyncio.TimerHandle] = {}
        self._growing: set[asyncio.Future[None]] = set()
        self._prefilling: dict[str, threading.Event] = {}
        self.requests = RequestLog()
        self.workspace_context = WorkspaceContext()

    def report_server_error(self, error: Exception, source: object) -> None:
        logger.error("internal error: %s", type(error).__name__)

    def tell_once(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        """Show `message` to the user the first time only."""
        if message in self._reported:
            return
        self._reported.add(message)
        logger.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"fimble: {message}"))

    def apply_settings(self, raw: object) -> None:
        settings, problems = parse_settings(raw, self.settings)
        if problems:
            self.tell_once("invalid settings: " + "; ".join(problems), types.MessageType.Warning)
        self.settings = settings

    def supersede(self, uri: str, event: threading.Event | None = None) -> threading.Event:
        """A cancel event for a new request; the previous one for this document is cancelled."""
        previous = self._latest.get(uri)
        if previous is not None:
            previous.set()
        event = event if event is not None else threading.Event()
        self._latest[uri] = event
        return event

    def version_of(self, uri: str) -> int | None:
        document = self.workspace.text_documents.get(uri)
        return document.version if document is not None else None

    def drop_stale(self, uri: str) -> None:
        """The document changed: its request in flight is for an older version, drop it.

        Helix never sends `$/cancelRequest` and asks again only after an idle pause.
        """
        previous = self._latest.pop(uri, None)
        if previous is not None:
            previous.set()

    async def loaded_engine(self) -> CompletionEngine | None:
        change = self.worker.model_file_change(self.settings)
        if change is not None:
            self._reported.clear()  # what was wrong with the old file may be wrong again
            self.tell_once(change, types.MessageType.Warning)
        try:
            return await self.worker.engine(self.settings)
        except (ModelFileError, FimTemplateError, EngineUnavailable) as error:
            self.tell_once(str(error))
        except Exception as error:  # a model llama.cpp rejects in ways we cannot foresee
            self.tell_once(f"the model could not be loaded: {error}")
        return None

    def cursor(self, uri: str, position: types.Position) -> Cursor | None:
        """The checked cursor, None where fimble should stay quiet; raises on bad input."""
        document = self.workspace.text_documents.get(uri)
        if document is None:
            raise JsonRpcInvalidParams(f"document {uri} is not open: send didOpen first")
        language_id = document.language_id or "plaintext"
        text = document.source
        if language_id in self.settings.disabled_languages or "\x00" in text:
            return None
        if len(text.encode("utf-8", errors="surrogatepass")) > self.settings.max_file_bytes:
            logger.info("document too large for suggestions (maxFileBytes)")
            return None
        line_text, position = clamp_position(document, position)
        offset = document.offset_at_position(position)
        column = offset - (text.rfind("\n", 0, offset) + 1)
        return Cursor(
            text,
            offset,
            position,
            line_text[:column],
            line_text[column:].rstrip("\r\n"),
            language_id,
        )

    def remembered(self, uri: str, cursor: Cursor) -> tuple[str, Suggestion | None] | None:
        """(source, answer) where no model call is needed, else None."""
        if not self.settings.prompt_cache:
            return None
        answer = self.memory.typed_through(uri, cursor.text, cursor.offset)
        if answer is not None:
            return TYPING_THROUGH, answer
        found, answer = self.memory.recall(uri, cursor.text, cursor.offset)
        return (RESULT_CACHE, answer) if found else None

    def edited(self, uri: str, changes: Sequence[types.TextDocumentContentChangeEvent]) -> None:
        """After an edit, once the editor is idle, evaluate the prompt at the edit's end."""
        self.stop_idle_prefill(uri)
        change = changes[-1] if changes else None
        if not self.settings.prompt_cache or not isinstance(
            change, types.TextDocumentContentChangePartial
        ):
            return
        position = end_of_insertion(change)
        loop = asyncio.get_running_loop()
        self._idle[uri] = loop.call_later(
            IDLE_PREFILL_S, lambda: asyncio.ensure_future(self.prefill(uri, position))
        )

    def stop_idle_prefill(self, uri: str) -> None:
        timer = self._idle.pop(uri, None)
        if timer is not None:
            timer.cancel()

    def make_way(self) -> None:
        """A request is here: no idle prefill, of any document, may keep the worker from it."""
        for uri in list(self._idle):
            self.stop_idle_prefill(uri)
        for cancel in self._prefilling.values():
            cancel.set()

    def prefilling(self) -> bool:
        return bool(self._prefilling)

    async def prefill(self, uri: str, position: types.Position) -> None:
        self._idle.pop(uri, None)
        cancel = threading.Event()  # set by a request for any document (make_way)
        self._prefilling[uri] = cancel
        try:
            await self._prefill(uri, position, cancel)
        finally:
            if self._prefilling.get(uri) is cancel:
                del self._prefilling[uri]

    async def _prefill(self, uri: str, position: types.Position, cancel: threading.Event) -> None:
        try:
            cursor = self.cursor(uri, position)
        except JsonRpcInvalidParams:
            return
        engine = await self.loaded_engine()
        if cursor is None or engine is None:
            return
        cross_file = await self.workspace_context.request(
            uri, cursor.text, cursor.offset, cursor.language_id, self.settings, engine
        )
        if cancel.is_set():
            return
        job = partial(
            _prefill_job, uri=uri, cursor=cursor, settings=self.settings, cross_file=cross_file
        )
        self.supersede(uri, cancel)
        try:
            await self.worker.run(job, engine, cancel)
            self.requests.count(IDLE_PREFILL)
        except CompletionCancelled:
            pass
        except Exception as error:  # a warm-up is optional; the next request reports errors
            logger.warning("idle prefill failed: %s", type(error).__name__)
        finally:
            if self._latest.get(uri) is cancel:
                del self._latest[uri]

    async def suggestion(
        self, uri: str, position: types.Position, automatic: bool = False
    ) -> tuple[Cursor, Suggestion] | None:
        started = time.perf_counter()
        self.stop_idle_prefill(uri)
        cursor = self.cursor(uri, position)
        if cursor is None:
            return None
        remembered = self.remembered(uri, cursor)
        if remembered is not None:
            self.supersede(uri)
            source, result = remembered
            self.requests.record(source, None, started=started)
            return (cursor, result) if result is not None else None
        self.make_way()  # answers from memory above leave the worker's work alone
        version = self.version_of(uri)
        engine = await self.loaded_engine()
        if engine is None or self.version_of(uri) != version:
            return None
        cross_file = await self.workspace_context.request(
            uri, cursor.text, cursor.offset, cursor.language_id, self.settings, engine
        )
        job = partial(
            _suggest_job,
            uri=uri,
            cursor=cursor,
            settings=self.settings,
            on_cancel=partial(self.requests.record, CANCELLED, started=started),
            cross_file=cross_file,
            typing=automatic,
        )
        cancel = self.supersede(uri)
        try:
            result, stats = await self.worker.run(job, engine, cancel)
        except CompletionCancelled:
            return None
        except EngineUnavailable as error:
            self.tell_once(str(error))
            return None
        finally:
            if self._latest.get(uri) is cancel:
                del self._latest[uri]
        if cancel.is_set() or self.version_of(uri) != version:
            self.requests.record(CANCELLED, stats, started=started)
            return None  # the document changed meanwhile: the answer is for text gone
        self.memory.remember(uri, cursor.text, cursor.offset, result)
        self.requests.record(MODEL, stats, started=started)
        if automatic and self.settings.prompt_cache and self.settings.quick_start_tokens:
            # The user is typing here: evaluate the full window (after a quick start) in the
            # time until the next request, which stops it and keeps what was done.
            task = asyncio.ensure_future(self.prefill(uri, position))
            self._growing.add(task)
            task.add_done_callback(self._growing.discard)
        return (cursor, result) if result is not None else None

    def renders_plain_documentation(self) -> bool:
        text_document = self.client_capabilities.text_document
        completion = text_document.completion if text_document else None
        item = completion.completion_item if completion else None
        formats = item.documentation_format if item else None
        return bool(formats and types.MarkupKind.PlainText in formats)

    def units(self, text: str) -> int:
        return int(self.workspace.position_codec.client_num_units(text))


def _suggest_job(
    engine: CompletionEngine,
    cancel: threading.Event,
    *,
    uri: str,
    cursor: Cursor,
    settings: Settings,
    on_cancel: Callable[[GenerationStats | None], None],
    cross_file: CrossFileRequest | None = None,
    typing: bool = False,
) -> tuple[Suggestion | None, GenerationStats]:
    """On the worker thread: the suggestion and what it cost (recorded here if cancelled)."""
    if cancel.is_set():
        on_cancel(None)
        raise CompletionCancelled()
    passes: list[GenerationStats] = []
    try:
        result = suggest(
            engine,
            cursor.text,
            cursor.offset,
            cursor.language_id,
            settings,
            cancel,
            document=uri,
            cross_file=cross_file,
            typing=typing,
            passes=passes,
        )
    except CompletionCancelled:
        on_cancel(request_cost([*passes, dataclasses.replace(engine.last_stats)]))
        raise
    return result, request_cost(passes)


def _prefill_job(
    engine: CompletionEngine,
    cancel: threading.Event,
    *,
    uri: str,
    cursor: Cursor,
    settings: Settings,
    cross_file: CrossFileRequest,
) -> None:
    if not cancel.is_set():
        prefill(
            engine,
            cursor.text,
            cursor.offset,
            cursor.language_id,
            settings,
            cancel,
            document=uri,
            cross_file=cross_file,
        )


def end_of_insertion(change: types.TextDocumentContentChangePartial) -> types.Position:
    """Where the cursor is after `change` (in the client's units, UTF-16 assumed for them)."""
    start = change.range.start
    lines = change.text.split("\n")
    if len(lines) == 1:
        return types.Position(start.line, start.character + len(lines[0].encode("utf-16-le")) // 2)
    return types.Position(start.line + len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)


def _nothing(engine: CompletionEngine, cancel: threading.Event) -> None:
    """A job that only waits for the worker's queue to drain."""


def clamp_position(document: TextDocument, position: types.Position) -> tuple[str, types.Position]:
    """The cursor's line and position, the character clamped to the line (as LSP says)."""
    lines = document.lines
    at_end = position.line == len(lines) and (not lines or lines[-1].endswith("\n"))
    if position.line > len(lines) or (position.line == len(lines) and not at_end):
        raise JsonRpcInvalidParams(
            f"line {position.line} is past the end of the document ({len(lines)} lines)"
        )
    if at_end:
        return "", types.Position(position.line, 0)
    line = lines[position.line]
    length = document.position_codec.client_num_units(line.rstrip("\r\n"))
    return line, types.Position(position.line, min(position.character, length))


def create_server(engine_factory: EngineFactory = load_engine) -> FimbleServer:
    server = FimbleServer(engine_factory)

    @server.feature(types.INITIALIZE)
    def initialize(ls: FimbleServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options)
        ls.workspace_context.set_folders(workspace_folder_uris(params))

    @server.feature(types.INITIALIZED)
    async def initialized(ls: FimbleServer, params: types.InitializedParams) -> None:
        ls.workspace_context.start_indexing(ls.settings)
        await load_with_progress(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: FimbleServer, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        ls.workspace_context.opened(document.uri, document.text, ls.settings)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: FimbleServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.drop_stale(uri)
        ls.edited(uri, params.content_changes)
        document = ls.workspace.text_documents.get(uri)
        if document is not None:
            line = first_changed_line(params.content_changes)
            ls.workspace_context.changed(uri, document.source, line, ls.settings)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: FimbleServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.workspace_context.closed(params.text_document.uri, ls.settings)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: FimbleServer, params: types.DidChangeConfigurationParams
    ) -> None:
        before = engine_key(ls.settings)
        ls.apply_settings(params.settings)
        if engine_key(ls.settings) != before:
            await load_with_progress(ls)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: FimbleServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
        found = await ls.suggestion(params.text_document.uri, params.position, automatic)
        if found is None:
            return types.InlineCompletionList(items=[])
        cursor, suggestion = found
        return inline_completion_list(cursor.position, suggestion, cursor.rest_of_line, ls.units)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(ls: FimbleServer, params: types.CompletionParams) -> types.CompletionList:
        found = await ls.suggestion(params.text_document.uri, params.position)
        if found is None:
            return types.CompletionList(is_incomplete=True, items=[])
        cursor, suggestion = found
        return popup_completion_list(
            cursor.position,
            suggestion,
            cursor.line_prefix,
            cursor.rest_of_line,
            ls.units,
            show_documentation=ls.renders_plain_documentation(),
        )

    @server.feature(STATS_REQUEST)
    async def stats(ls: FimbleServer, params: object) -> dict[str, object]:
        """The recorded figures, once the work queued before this request is done."""
        engine = await ls.loaded_engine()
        if engine is None:
            return ls.requests.summary()
        if not ls.prefilling():  # background prefills are not waited for
            await ls.worker.run(_nothing, engine, threading.Event())
        loaded = engine.description
        about = {"model": loaded.model_path, "fim_template": loaded.fim_template, **loaded.details}
        return {**ls.requests.summary(), "engine": about}

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: FimbleServer, params: None) -> None:
        ls.worker.shutdown()
        ls.workspace_context.shutdown()

    return server


def workspace_folder_uris(params: types.InitializeParams) -> list[str]:
    """The workspace folders an editor opened (the only places context is read from)."""
    if params.workspace_folders:
        return [folder.uri for folder in params.workspace_folders]
    if params.root_uri:
        return [params.root_uri]
    return []


def first_changed_line(changes: Sequence[types.TextDocumentContentChangeEvent]) -> int | None:
    """The first line an edit touched (None for whole-document replacements)."""
    lines = [
        change.range.start.line
        for change in changes
        if isinstance(change, types.TextDocumentContentChangePartial)
    ]
    return min(lines) if lines else None


async def load_with_progress(ls: FimbleServer) -> None:
    """Load the engine now, with `$/progress` where the client shows it."""
    window = ls.client_capabilities.window
    show_progress = bool(window and window.work_done_progress)
    token = PROGRESS_TOKEN.format(next(_progress_tokens))
    if show_progress:
        try:
            await ls.work_done_progress.create_async(token)
        except Exception:
            show_progress = False
    if show_progress:
        ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="fimble: loading model")
        )
    engine = await ls.loaded_engine()
    if show_progress:
        done = "model ready" if engine is not None else "model failed to load"
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=done))
