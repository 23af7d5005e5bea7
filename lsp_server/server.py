"""The language server: pygls wiring, and nothing else.

`create_server()` builds a server whose handlers are short: they read the document, turn
the LSP request into a `CompletionRequest`, hand it to the `Scheduler` (which decides what
runs on the inference worker and when) and turn the result into LSP types. The logic lives
in `context/`, `engines/`, `lsp_server/pipeline/` and the modules beside this one.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Sequence

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from context import Suggestion
from context.cursor import Cursor
from context.languages import source_file_glob
from context.line_breaks import as_lf_at
from context.workspace_files import utf8_longer_than
from engines.completion_engine import CompletionCancelled, CompletionEngine, EngineUnavailable
from engines.fim_templates import FimTemplateError
from engines.load_progress import LoadStep
from engines.model_files import ModelFileError
from lsp_server import __version__
from lsp_server.completion_items import (
    ACCEPTED_COMMAND,
    inline_completion_list,
    popup_completion_list,
)
from lsp_server.engine_loading import load_engine
from lsp_server.inference_worker import EngineFactory, InferenceWorker, engine_key
from lsp_server.load_steps import LoadStepRelay
from lsp_server.pipeline import CompletionRequest
from lsp_server.position_units import use_fast_positions, use_lsp_lines
from lsp_server.protocol import FimbleProtocol
from lsp_server.scheduler import Scheduler
from lsp_server.settings import Settings, parse_settings
from lsp_server.workspace_context import WorkspaceContext

logger = logging.getLogger(__name__)
_progress_tokens = itertools.count(1)
STATS_REQUEST = "fimble/stats"
PROGRESS_TOKEN = "fimble/model-load/{}"
WATCHED_FILES_REGISTRATION = "fimble/watched-files"


class FimbleServer(LanguageServer):
    @property
    def shut_down(self) -> bool:
        """Whether the client asked for `shutdown` before the end (LSP's exit status)."""
        return isinstance(self.protocol, FimbleProtocol) and self.protocol.shut_down

    def __init__(self, engine_factory: EngineFactory) -> None:
        super().__init__("fimble", __version__, protocol_cls=FimbleProtocol)
        self.settings = Settings()
        self._reported: set[str] = set()
        self._faults_told: set[str] = set()  # engine faults, told again once it recovered
        self.workspace_context = WorkspaceContext()
        self.load_steps = LoadStepRelay()  # to `$/progress` while load_with_progress runs
        self.scheduler = Scheduler(
            InferenceWorker(engine_factory, self.load_steps),
            self.loaded_engine,
            self.workspace_context.request,
            self.tell_fault,
            self._faults_told.clear,
        )

    def report_server_error(self, error: Exception, source: object) -> None:
        logger.error("internal error: %s", type(error).__name__)

    def tell_once(
        self,
        message: str,
        kind: types.MessageType = types.MessageType.Error,
        told: set[str] | None = None,
    ) -> None:
        """Show `message` to the user the first time only (of those in `told`)."""
        told = self._reported if told is None else told
        if message in told:
            return
        told.add(message)
        logger.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"fimble: {message}"))

    def tell_fault(self, message: str) -> None:
        """An engine's fault (a remote server failing): once while it lasts, not once per
        keystroke; once it answers again (the scheduler clears the set), a new failure is
        told again."""
        self.tell_once(message, types.MessageType.Error, self._faults_told)

    def apply_settings(self, raw: object) -> None:
        settings, problems = parse_settings(raw, self.settings)
        if problems:
            self.tell_once("invalid settings: " + "; ".join(problems), types.MessageType.Warning)
        self.settings = settings

    def version_of(self, uri: str) -> int | None:
        document = self.workspace.text_documents.get(uri)
        return document.version if document is not None else None

    async def loaded_engine(self) -> CompletionEngine | None:
        change = self.scheduler.worker.model_file_change(self.settings)
        if change is not None:
            self._reported.clear()  # what was wrong with the old file may be wrong again
            self.tell_once(change, types.MessageType.Warning)
        try:
            return await self.scheduler.worker.engine(self.settings)
        except (ModelFileError, FimTemplateError, EngineUnavailable) as error:
            self.tell_once(str(error))
        except Exception as error:  # a model llama.cpp rejects in ways we cannot foresee
            self.tell_once(f"the model could not be loaded: {error}")
        return None

    def request_at(
        self, uri: str, position: types.Position, typing: bool = False
    ) -> tuple[types.Position, CompletionRequest | None]:
        """The checked position and the request there (None where fimble stays quiet);
        raises InvalidParams on bad input."""
        document = self.workspace.text_documents.get(uri)
        if document is None:
            raise JsonRpcInvalidParams(f"document {uri} is not open: send didOpen first")
        position = clamp_position(document, position)
        language_id = document.language_id or "plaintext"
        text = document.source
        if language_id in self.settings.disabled_languages or "\x00" in text:
            return position, None
        if self.workspace_context.withholds(uri, self.settings):
            return position, None  # a secret, or ignored by git with a remote engine
        if utf8_longer_than(text, self.settings.max_file_bytes):
            logger.info("document too large for suggestions (maxFileBytes)")
            return position, None
        # LF line breaks only, as the pipeline splits lines (the line and column stay).
        text, offset = as_lf_at(text, document.offset_at_position(position))
        request = CompletionRequest(
            uri, text, Cursor.at(text, offset), language_id, self.settings, typing, document.version
        )
        return position, request

    async def suggestion(
        self, uri: str, position: types.Position, typing: bool = False
    ) -> tuple[types.Position, CompletionRequest, Suggestion] | None:
        position, request = self.request_at(uri, position, typing)
        if request is None:
            return None
        suggestion = await self.scheduler.answer(request, lambda: self.version_of(uri))
        return (position, request, suggestion) if suggestion is not None else None

    def edited(self, uri: str, changes: Sequence[types.TextDocumentContentChangeEvent]) -> None:
        """Drop the request for the older text; prefill at the edit's end once idle."""
        self.scheduler.drop_stale(uri)
        change = changes[-1] if changes else None
        request = None
        if isinstance(change, types.TextDocumentContentChangePartial):
            try:
                _, request = self.request_at(uri, end_of_insertion(change))
            except JsonRpcInvalidParams:
                request = None
        self.scheduler.edited(request)

    def renders_plain_documentation(self) -> bool:
        text_document = self.client_capabilities.text_document
        completion = text_document.completion if text_document else None
        item = completion.completion_item if completion else None
        formats = item.documentation_format if item else None
        return bool(formats and types.MarkupKind.PlainText in formats)

    def units(self, text: str) -> int:
        return int(self.workspace.position_codec.client_num_units(text))


def popup_while_typing(context: types.CompletionContext | None) -> bool:
    """Whether a completion popup was asked for by typing (a trigger character, or the list
    asked again as the user types on) rather than by the user. Helix sends its first
    automatic request as Invoked too: only its later ones are known to be typing."""
    typing_kinds = (
        types.CompletionTriggerKind.TriggerCharacter,
        types.CompletionTriggerKind.TriggerForIncompleteCompletions,
    )
    return context is not None and context.trigger_kind in typing_kinds


def end_of_insertion(change: types.TextDocumentContentChangePartial) -> types.Position:
    """Where the cursor is after `change` (in the client's units, UTF-16 assumed for them)."""
    start = change.range.start
    lines = change.text.split("\n")
    if len(lines) == 1:
        return types.Position(start.line, start.character + len(lines[0].encode("utf-16-le")) // 2)
    return types.Position(start.line + len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)


def _nothing(engine: CompletionEngine, cancel: threading.Event) -> None:
    """A job that only waits for the worker's queue to drain."""


def clamp_position(document: TextDocument, position: types.Position) -> types.Position:
    """The position with its character clamped to the line (as LSP says)."""
    lines = document.lines
    at_end = position.line == len(lines) and (not lines or lines[-1].endswith("\n"))
    if position.line > len(lines) or (position.line == len(lines) and not at_end):
        raise JsonRpcInvalidParams(
            f"line {position.line} is past the end of the document ({len(lines)} lines)"
        )
    if at_end:
        return types.Position(position.line, 0)
    line = lines[position.line]
    ending = 2 if line.endswith("\r\n") else int(line.endswith(("\n", "\r")))
    length = document.position_codec.client_num_units(line) - ending  # no copy of a long line
    return types.Position(position.line, min(position.character, length))


def initialize(ls: FimbleServer, params: types.InitializeParams) -> None:
    use_fast_positions(ls.workspace)  # before any document is opened
    use_lsp_lines(ls.workspace)
    ls.apply_settings(params.initialization_options)
    ls.workspace_context.set_folders(workspace_folder_uris(params))


async def initialized(ls: FimbleServer, params: types.InitializedParams) -> None:
    ls.workspace_context.start_indexing(ls.settings)
    watch_source_files(ls)
    await load_with_progress(ls)


def did_open(ls: FimbleServer, params: types.DidOpenTextDocumentParams) -> None:
    document = params.text_document
    ls.workspace_context.opened(document.uri, document.text, ls.settings)
    _, request = ls.request_at(document.uri, types.Position(0, 0))
    ls.scheduler.fill_document_runs(request)


def did_change(ls: FimbleServer, params: types.DidChangeTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.edited(uri, params.content_changes)
    document = ls.workspace.text_documents.get(uri)
    if document is not None:
        line = first_changed_line(params.content_changes)
        ls.workspace_context.changed(uri, document.source, line, ls.settings)


def did_close(ls: FimbleServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.scheduler.closed(params.text_document.uri)
    ls.workspace_context.closed(params.text_document.uri, ls.settings)


def did_change_workspace_folders(
    ls: FimbleServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    added = [folder.uri for folder in params.event.added]
    removed = [folder.uri for folder in params.event.removed]
    ls.workspace_context.change_folders(added, removed, ls.settings)


def did_change_watched_files(ls: FimbleServer, params: types.DidChangeWatchedFilesParams) -> None:
    """Files created, changed or deleted on disk: the context follows (a deleted or renamed
    file's code is context no more, a new one's is)."""
    uris = [change.uri for change in params.changes]
    ls.workspace_context.files_changed(uris, ls.settings)


def watch_source_files(ls: FimbleServer) -> None:
    """Ask the editor to report changes to source files on disk, where it can be asked
    (without it, a deleted file is still found gone when its code would be used)."""
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace else None
    if not (watched and watched.dynamic_registration):
        return
    watcher = types.FileSystemWatcher(glob_pattern=source_file_glob())
    registration = types.Registration(
        id=WATCHED_FILES_REGISTRATION,
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]),
    )
    ls.client_register_capability(types.RegistrationParams(registrations=[registration]))


async def did_change_configuration(
    ls: FimbleServer, params: types.DidChangeConfigurationParams
) -> None:
    before = engine_key(ls.settings)
    ls.apply_settings(params.settings)
    ls.workspace_context.start_indexing(ls.settings)  # a rebuilt context starts empty
    if engine_key(ls.settings) != before:
        await load_with_progress(ls)


async def inline_completion(
    ls: FimbleServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
    found = await ls.suggestion(params.text_document.uri, params.position, automatic)
    if found is None:
        return types.InlineCompletionList(items=[])
    position, request, suggestion = found
    rest_of_line = request.cursor.rest_of_line
    return inline_completion_list(position, suggestion, rest_of_line, ls.units, request.document)


async def completion(ls: FimbleServer, params: types.CompletionParams) -> types.CompletionList:
    typing = popup_while_typing(params.context)
    found = await ls.suggestion(params.text_document.uri, params.position, typing)
    if found is None:
        return types.CompletionList(is_incomplete=True, items=[])
    position, request, suggestion = found
    return popup_completion_list(
        position,
        suggestion,
        request.cursor.line_prefix,
        request.cursor.rest_of_line,
        ls.units,
        show_documentation=ls.renders_plain_documentation(),
    )


async def stats(ls: FimbleServer, params: object) -> dict[str, object]:
    """The recorded figures, once the work queued before this request is done."""
    engine = await ls.loaded_engine()
    requests = ls.scheduler.requests
    # Handlers pygls holds as running (this request among them): a count that only grows is a leak.
    running = {
        "handlersRunning": len(ls.protocol._request_futures),
        # Snippets chosen before the index is complete may differ (benchmarks wait for it).
        "workspaceIndexed": ls.workspace_context.indexed(),
    }
    if engine is None:
        return {**requests.summary(), **running}
    await ls.scheduler.worker.settled()  # requests' jobs, cancelled ones included
    if not ls.scheduler.busy_in_background():  # background work is not waited for
        with contextlib.suppress(CompletionCancelled):  # the model file changed meanwhile
            await ls.scheduler.worker.run(_nothing, engine, threading.Event())
    loaded = engine.description
    about = {
        "model": loaded.model_path,
        "fim_template": loaded.fim_template,
        **loaded.details,
        **ls.settings.engine_in_use(),  # remote or not, and the host prompts go to
    }
    return {**requests.summary(), **running, "engine": about}


def accepted(ls: FimbleServer, uri: str) -> None:
    """The client ran the accepted item's command (its argument: the document's URI): get
    the next line ready."""
    ls.scheduler.accepted(uri)


def shutdown(ls: FimbleServer, params: None) -> None:
    ls.scheduler.worker.shutdown()
    ls.workspace_context.shutdown()


def create_server(engine_factory: EngineFactory = load_engine) -> FimbleServer:
    server = FimbleServer(engine_factory)
    handlers: list[tuple[str, object, Callable[..., object]]] = [
        (types.INITIALIZE, None, initialize),
        (types.INITIALIZED, None, initialized),
        (types.TEXT_DOCUMENT_DID_OPEN, None, did_open),
        (types.TEXT_DOCUMENT_DID_CHANGE, None, did_change),
        (types.TEXT_DOCUMENT_DID_CLOSE, None, did_close),
        (types.WORKSPACE_DID_CHANGE_CONFIGURATION, None, did_change_configuration),
        (types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, None, did_change_workspace_folders),
        (types.WORKSPACE_DID_CHANGE_WATCHED_FILES, None, did_change_watched_files),
        (types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions(), inline_completion),
        (types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(), completion),
        (STATS_REQUEST, None, stats),
        (types.SHUTDOWN, None, shutdown),
    ]
    for method, options, handler in handlers:
        server.feature(method, options)(handler)
    server.command(ACCEPTED_COMMAND)(accepted)
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
            token, types.WorkDoneProgressBegin(title="fimble: loading model", percentage=0)
        )
        ls.load_steps.attach(lambda step: report_step(ls, token, step))
    try:
        engine = await ls.loaded_engine()
    finally:
        ls.load_steps.detach()
    if show_progress:
        done = "model ready" if engine is not None else "model failed to load"
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=done))


def report_step(ls: FimbleServer, token: str, step: LoadStep) -> None:
    """One step of the load (joining and checking the model, loading it) as `$/progress`."""
    report = types.WorkDoneProgressReport(message=step.title, percentage=step.percentage)
    ls.work_done_progress.report(token, report)
