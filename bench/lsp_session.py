"""The one LSP client the benchmarks share: `fimble serve` over stdio, driven as an editor.

Why this file exists: every benchmark talks to the server the same way (start it with some
settings and workspace folders, open, edit and close documents, ask for inline completions,
read what each answer cost from `fimble/stats`, shut down). Written once here, the scripts
keep only what they measure.

bench/ is a folder of scripts, not a package: run as `python bench/x.py`, a script finds this
module (and its siblings) by its own folder, which Python puts first on the import path.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The interpreter running the benchmark, so that the server is the checkout's code.
SERVER_COMMAND = (sys.executable, "-m", "lsp_server.cli", "serve")
STATS_REQUEST = "fimble/stats"
STARTUP_TIMEOUT_S = 600.0  # the first answer waits for the model to load
REQUEST_TIMEOUT_S = 300.0
WARM_UP_TEXT = "def add(a, b):\n    return \n"
WARM_UP_CURSOR = (1, 11)
# Every cache and every piece of background work a request can profit from, off: the
# comparison passes (each prompt evaluated in full, nothing answered from memory).
CACHES_OFF: dict[str, Any] = {
    "kvReuse": False,
    "answerMemory": False,
    "backgroundPrefill": False,
    "speculateNextLine": False,
}

InlineAnswer = types.InlineCompletionList | list[types.InlineCompletionItem] | None


@dataclass(frozen=True)
class RequestFigures:
    """What `fimble/stats` says the last answered request cost (its top-level fields)."""

    source: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    reused_tokens: int = 0
    moved_tokens: int = 0
    run_tokens: int = 0  # of the reused ones, those taken from a document's cached run
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    passes: int = 1

    @classmethod
    def from_stats(cls, stats: Any) -> RequestFigures:
        """From the answer as pygls hands it over: a mapping or an object with attributes."""

        def read(name: str) -> Any:
            return stats.get(name) if isinstance(stats, dict) else getattr(stats, name, None)

        found = {each.name: read(each.name) for each in fields(cls)}
        return cls(**{name: value for name, value in found.items() if value is not None})


@dataclass(frozen=True)
class Completion:
    """The first inline completion item of an answer (None: nothing suggested) and how long
    the answer took, from the request sent to the answer received."""

    item: types.InlineCompletionItem | None
    latency_s: float

    @property
    def text(self) -> str:
        return "" if self.item is None else item_text(self.item)


def item_text(item: types.InlineCompletionItem) -> str:
    insert = item.insert_text
    return insert if isinstance(insert, str) else insert.value  # a snippet: inserted as is


def first_item(answer: InlineAnswer) -> types.InlineCompletionItem | None:
    items = answer.items if isinstance(answer, types.InlineCompletionList) else answer or []
    return items[0] if items else None


def client_capabilities() -> types.ClientCapabilities:
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities(dynamic_registration=False),
        ),
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind.Utf16]
        ),
    )


class LspSession:
    """One `fimble serve` process and the documents open in it (positions in UTF-16 units)."""

    def __init__(
        self,
        name: str,
        settings: dict[str, Any] | None = None,
        folders: Sequence[Path] = (),
        *,
        log_level: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.name = name
        self.settings = settings
        self.folders = list(folders)
        self.log_level = log_level
        self.verbose = verbose
        self.client = LanguageClient(name, "1")
        self.versions: dict[str, int] = {}
        self.messages: list[str] = []  # window/showMessage, in order
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self._ids = itertools.count(1)
        self._drain: asyncio.Task[None] | None = None
        self._listen()

    def _listen(self) -> None:
        """Show what the server tells the user (pygls wants plain functions as handlers)."""

        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)
            print(f"{self.name}: server says: {params.message}", file=sys.stderr, flush=True)

        def log_message(params: types.LogMessageParams) -> None:
            if self.verbose:
                print(f"{self.name}: server log: {params.message}", file=sys.stderr, flush=True)

        self.client.feature(types.WINDOW_SHOW_MESSAGE)(show_message)
        self.client.feature(types.WINDOW_LOG_MESSAGE)(log_message)

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        """Read the server's stderr as it comes (a full pipe would block the server)."""
        while line := await stream.readline():
            text = line.decode("utf-8", errors="replace").rstrip()
            self.stderr_tail.append(text)
            if self.verbose:
                print(f"{self.name}: server stderr: {text}", file=sys.stderr, flush=True)

    async def start(self, timeout: float = STARTUP_TIMEOUT_S) -> types.InitializeResult:
        """Start the server and initialize it; returns what it offers."""
        extra = ("--log-level", self.log_level) if self.log_level else ()
        await self.client.start_io(*SERVER_COMMAND, *extra, cwd=str(PROJECT_ROOT))
        server = self.client._server
        if server is not None and server.stderr is not None:
            self._drain = asyncio.create_task(self._drain_stderr(server.stderr))
        folders = [types.WorkspaceFolder(folder.as_uri(), folder.name) for folder in self.folders]
        result = await asyncio.wait_for(
            self.client.initialize_async(
                types.InitializeParams(
                    capabilities=client_capabilities(),
                    process_id=os.getpid(),
                    client_info=types.ClientInfo(name=self.name),
                    workspace_folders=folders or None,
                    initialization_options=self.settings,
                )
            ),
            timeout,
        )
        self.client.initialized(types.InitializedParams())
        refused = [message for message in self.messages if "invalid settings" in message]
        if refused:  # a pass measured with settings the server ignored would mislead
            raise RuntimeError(f"{self.name}: {'; '.join(refused)}")
        return result

    async def warm_up(self, uri: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """One request left out of every figure: it waits for the model to load."""
        self.open(uri, WARM_UP_TEXT)
        try:
            await self.complete(uri, *WARM_UP_CURSOR, invoked=True, timeout=timeout)
        finally:
            self.close(uri)

    @property
    def pid(self) -> int | None:
        server = self.client._server
        return None if server is None else int(server.pid)

    @property
    def stopped(self) -> bool:
        return bool(self.client.stopped)

    def rss_mb(self) -> float:
        """The server's resident set (VmRSS), in MB; 0 once it is gone."""
        if self.pid is None:
            return 0.0
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0.0
        found = re.search(r"VmRSS:\s+(\d+)", status)
        return int(found.group(1)) / 1024 if found else 0.0

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.versions[uri] = self.versions.get(uri, 0) + 1
        item = types.TextDocumentItem(uri, language, self.versions[uri], text)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(item))

    def change(
        self, uri: str, start: tuple[int, int], text: str, end: tuple[int, int] | None = None
    ) -> None:
        """One incremental edit: `text` replaces start..end (an insertion where end is None)."""
        self.versions[uri] += 1
        edit = types.Range(types.Position(*start), types.Position(*(end or start)))
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=self.versions[uri], uri=uri),
                [types.TextDocumentContentChangePartial(range=edit, text=text)],
            )
        )

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )

    def request_completion(
        self, uri: str, line: int, character: int, *, invoked: bool = False
    ) -> tuple[str, asyncio.Future[InlineAnswer]]:
        """Send an inline completion request and return at once: its id (for `cancel`) and
        the answer to come. `invoked`: asked for by the user, not while typing."""
        trigger = (
            types.InlineCompletionTriggerKind.Invoked
            if invoked
            else types.InlineCompletionTriggerKind.Automatic
        )
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=trigger),
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(line, character),
        )
        msg_id = f"{self.name}-{next(self._ids)}"
        answer = self.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id
        )
        return msg_id, answer

    def cancel(self, msg_id: str) -> None:
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    async def complete(
        self,
        uri: str,
        line: int,
        character: int,
        *,
        invoked: bool = False,
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> Completion:
        """Ask for an inline completion and wait for it."""
        started = time.perf_counter()
        _, answer = self.request_completion(uri, line, character, invoked=invoked)
        found = await asyncio.wait_for(answer, timeout)
        return Completion(first_item(found), time.perf_counter() - started)

    async def stats(self, timeout: float = REQUEST_TIMEOUT_S) -> RequestFigures:
        """What the last answered request cost, once the work queued before is done."""
        answer = self.client.protocol.send_request_async(STATS_REQUEST, {})
        return RequestFigures.from_stats(await asyncio.wait_for(answer, timeout))

    async def workspace_indexed(self, timeout: float = STARTUP_TIMEOUT_S) -> float:
        """Wait until the server has indexed its workspace folders (the snippets it chooses
        before may differ from run to run); the seconds waited."""
        started = time.perf_counter()
        while True:
            answer = await asyncio.wait_for(
                self.client.protocol.send_request_async(STATS_REQUEST, {}), REQUEST_TIMEOUT_S
            )
            done = (
                answer.get("workspaceIndexed")
                if isinstance(answer, dict)
                else getattr(answer, "workspaceIndexed", True)
            )
            if done is not False:
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise TimeoutError("the workspace was not indexed in time")
            await asyncio.sleep(0.25)

    async def totals(self, timeout: float = REQUEST_TIMEOUT_S) -> dict[str, int]:
        """The server's running counts per source and background event (`fimble/stats`)."""
        answer = await asyncio.wait_for(
            self.client.protocol.send_request_async(STATS_REQUEST, {}), timeout
        )
        counts = (
            answer.get("totals") if isinstance(answer, dict) else getattr(answer, "totals", None)
        )
        if counts is None:
            return {}
        # pygls hands JSON objects over as named tuples
        items = counts.items() if isinstance(counts, dict) else counts._asdict().items()
        return {str(name): int(value) for name, value in items}

    async def stop(self) -> None:
        """Shut the server down politely; kill it if it does not go."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.shutdown_async(None), 30)
            self.client.exit(None)
        server = self.client._server
        if server is not None and server.returncode is None:
            try:
                await asyncio.wait_for(server.wait(), 10)
            except TimeoutError:
                server.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.stop(), 10)  # type: ignore[no-untyped-call]
        if self._drain is not None:
            self._drain.cancel()

    @property
    def exit_code(self) -> int | None:
        """The server's exit status once it has ended; None while it runs."""
        server = self.client._server
        return None if server is None else server.returncode

    async def ended(self, timeout: float) -> int | None:
        """Wait up to `timeout` seconds for the server to end (after `exit`); its status."""
        server = self.client._server
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait(), timeout)
        return self.exit_code

    async def release(self) -> None:
        """Let go of a server that has ended or must go without the polite shutdown: kill
        it if it still runs, then close the client."""
        server = self.client._server
        if server is not None and server.returncode is None:
            server.kill()
            await server.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.stop(), 10)  # type: ignore[no-untyped-call]
        if self._drain is not None:
            self._drain.cancel()


async def check_settings(settings: dict[str, Any]) -> None:
    """Fail at once, not after a long first pass, where the server refuses a setting."""
    session = LspSession("fimble-settings-check", settings, log_level="ERROR")
    try:
        await session.start()
    finally:
        await session.stop()
