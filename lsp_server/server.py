"""The language server: pygls wiring, and nothing else.

`create_server()` builds a server whose handlers are short: they read the document,
check the request, hand the work to the inference worker and turn the result into LSP
types. The logic lives in `context/`, `engines/` and the pure modules beside this one.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from context import Suggestion
from engines.completion_engine import CompletionCancelled, CompletionEngine
from engines.fim_templates import FimTemplateError
from engines.model_files import ModelFileError
from lsp_server import __version__
from lsp_server.completion_items import inline_completion_list, popup_completion_list
from lsp_server.engine_loading import load_engine
from lsp_server.inference_worker import EngineFactory, InferenceWorker, engine_key
from lsp_server.protocol import FimbleProtocol
from lsp_server.settings import Settings, parse_settings
from lsp_server.suggestion_pipeline import CrossFileRequest, suggest
from lsp_server.workspace_context import WorkspaceContext

logger = logging.getLogger(__name__)
_progress_tokens = itertools.count(1)
STATS_REQUEST = "fimble/stats"
PROGRESS_TOKEN = "fimble/model-load/{}"


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

    def supersede(self, uri: str) -> threading.Event:
        """A cancel event for a new request; the previous one for this document is cancelled."""
        previous = self._latest.get(uri)
        if previous is not None:
            previous.set()
        event = threading.Event()
        self._latest[uri] = event
        return event

    async def loaded_engine(self) -> CompletionEngine | None:
        try:
            return await self.worker.engine(self.settings)
        except (ModelFileError, FimTemplateError) as error:
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

    async def suggestion(
        self, uri: str, position: types.Position
    ) -> tuple[Cursor, Suggestion] | None:
        cursor = self.cursor(uri, position)
        if cursor is None:
            return None
        engine = await self.loaded_engine()
        if engine is None:
            return None
        cross_file = await self.workspace_context.request(
            uri, cursor.text, cursor.offset, cursor.language_id, self.settings, engine
        )
        job = partial(_suggest_job, cursor=cursor, settings=self.settings, cross_file=cross_file)
        cancel = self.supersede(uri)
        try:
            result = await self.worker.run(job, engine, cancel)
        except CompletionCancelled:
            return None
        finally:
            if self._latest.get(uri) is cancel:
                del self._latest[uri]
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
    cursor: Cursor,
    settings: Settings,
    cross_file: CrossFileRequest | None = None,
) -> Suggestion | None:
    if cancel.is_set():
        raise CompletionCancelled()
    return suggest(
        engine,
        cursor.text,
        cursor.offset,
        cursor.language_id,
        settings,
        cancel,
        cross_file=cross_file,
    )


def _stats_job(engine: CompletionEngine, cancel: threading.Event) -> dict[str, object]:
    return dataclasses.asdict(engine.last_stats)


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
        found = await ls.suggestion(params.text_document.uri, params.position)
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
        """The last generation's figures, once the work queued before this request is done."""
        engine = await ls.loaded_engine()
        if engine is None:
            return {}
        return await ls.worker.run(_stats_job, engine, threading.Event())

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
