"""Start `fimble serve` over stdio with pytest-lsp, as an editor would."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = Path(__file__).resolve().parents[2]
SERVER_COMMAND = [sys.executable, "-m", "lsp_server.cli", "serve"]
ANSWER_GUARD_S = 600

StartServer = Callable[..., Awaitable[LanguageClient]]


def editor_capabilities(
    encodings: list[str] | None = None, progress: bool = True
) -> types.ClientCapabilities:
    """An editor that shows ghost text (pytest-lsp's recorded editors lack inline completion)."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind(e) for e in encodings]
            if encodings
            else None
        ),
        window=types.WindowClientCapabilities(work_done_progress=progress),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities(),
            completion=types.CompletionClientCapabilities(),
            synchronization=types.TextDocumentSyncClientCapabilities(),
        ),
        workspace=types.WorkspaceClientCapabilities(configuration=False),
    )


NETWORK_AUDIT_DIR = Path(__file__).resolve().parent / "network_audit"


def audited_env(env: dict[str, str] | None, audit_log: Path) -> dict[str, str]:
    """`env` (or this process's) plus the network audit hook (network_audit/sitecustomize)."""
    merged = dict(os.environ if env is None else env)
    paths = [str(NETWORK_AUDIT_DIR), *filter(None, [merged.get("PYTHONPATH")])]
    merged["PYTHONPATH"] = os.pathsep.join(paths)
    merged["FIMBLE_NETWORK_AUDIT"] = str(audit_log)
    return merged


def network_attempts(audit_log: Path) -> list[str]:
    """What the audited processes tried beyond loopback (the start markers left out)."""
    if not audit_log.exists():
        return []
    lines = audit_log.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if not line.endswith("audit hook installed")]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that starts `fimble serve` loads the real model: mark it `model`, unless
    it is marked `loads_no_model` (a remote engine only: it checks that no model appears).

    (A `pytestmark` in a conftest marks nothing.) Tests that load the model another way (the
    command line, an engine in-process) carry the mark themselves.
    """
    for item in items:
        if item.get_closest_marker("loads_no_model") is not None:
            continue
        if "start_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.model)


@pytest_asyncio.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    clients: list[LanguageClient] = []
    audit_log = tmp_path / "network-audit.log"

    async def start(
        initialization_options: dict[str, Any] | None = None,
        encodings: list[str] | None = None,
        progress: bool = True,
        env: dict[str, str] | None = None,
        root_uri: str | None = None,
        server_command: list[str] | None = None,
        workspace_folders: list[Path] | None = None,
    ) -> LanguageClient:
        config = ClientServerConfig(
            server_command=server_command or SERVER_COMMAND,
            server_env=audited_env(env, audit_log),
        )
        client = await config.start()
        assert isinstance(client, LanguageClient)
        clients.append(client)
        client.initialize_result = await client.initialize_session(  # type: ignore[attr-defined]
            types.InitializeParams(
                capabilities=editor_capabilities(encodings, progress),
                initialization_options=initialization_options,
                root_uri=root_uri or ROOT.as_uri(),
                workspace_folders=[
                    types.WorkspaceFolder(folder.as_uri(), folder.name)
                    for folder in workspace_folders
                ]
                if workspace_folders
                else None,
            )
        )
        return client

    yield start
    for client in clients:
        try:
            await client.shutdown_session()
        finally:
            await client.stop()
    # Privacy: no server process of any e2e test tried to reach beyond loopback.
    assert network_attempts(audit_log) == []
    if clients:
        assert "audit hook installed" in audit_log.read_text(encoding="utf-8")


@pytest_asyncio.fixture
async def client(start_server: StartServer) -> LanguageClient:
    return await start_server()


def open_document(client: LanguageClient, uri: str, text: str, language_id: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
        )
    )


async def inline_at(
    client: LanguageClient,
    uri: str,
    line: int,
    character: int,
    trigger: types.InlineCompletionTriggerKind = types.InlineCompletionTriggerKind.Invoked,
) -> types.InlineCompletionList:
    """Ask as a user does (Invoked), or as editors do while the user types (Automatic)."""
    asked = client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(line, character),
            context=types.InlineCompletionContext(trigger_kind=trigger),
        )
    )
    # A liveness guard, not a speed requirement: an unanswered request fails the test
    # instead of hanging the suite.
    result = await asyncio.wait_for(asked, ANSWER_GUARD_S)
    assert isinstance(result, types.InlineCompletionList), result
    return result


def only_text(result: types.InlineCompletionList) -> str:
    assert len(result.items) == 1, result
    text = result.items[0].insert_text
    assert isinstance(text, str)
    return text


async def send_raw_request(client: LanguageClient, method: str, params: Any, msg_id: str) -> Any:
    """Send JSON the client's own types would refuse to build (malformed params)."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    client.protocol._request_futures[msg_id] = future
    client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return await asyncio.wrap_future(future)
