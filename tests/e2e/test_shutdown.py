"""After `shutdown`, a request gets an error, not silence: LSP says such requests "should error
with InvalidRequest", and an editor that sends one (a completion typed while the window
closes) would otherwise wait on it forever. `exit` then ends the process cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import SERVER_COMMAND, editor_capabilities, open_document, send_raw_request

pytestmark = pytest.mark.model

URI = "file:///work/late.py"
# Far beyond what an error takes; the request was dropped if nothing came by then.
ANSWER_GUARD_SECONDS = 15.0


@contextlib.asynccontextmanager
async def initialized_server() -> AsyncIterator[LanguageClient]:
    client = await ClientServerConfig(server_command=SERVER_COMMAND).start()
    assert isinstance(client, LanguageClient)
    try:
        await client.initialize_session(types.InitializeParams(capabilities=editor_capabilities()))
        yield client
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()  # failed before `exit`: stop() would wait for it
        await client.stop()


async def exit_status(client: LanguageClient) -> int:
    client.exit(None)
    server = client._server
    assert server is not None
    return await asyncio.wait_for(server.wait(), 30)


async def test_a_request_after_shutdown_gets_an_invalid_request_error() -> None:
    async with initialized_server() as client:
        open_document(client, URI, "def add(a, b):\n    return \n")
        await asyncio.wait_for(client.shutdown_async(None), 60)
        params = {
            "textDocument": {"uri": URI},
            "position": {"line": 1, "character": 11},
            "context": {"triggerKind": 1},
        }
        late = send_raw_request(client, "textDocument/inlineCompletion", params, "late-1")
        with pytest.raises(JsonRpcException) as raised:
            await asyncio.wait_for(late, ANSWER_GUARD_SECONDS)
        assert raised.value.code == types.ErrorCodes.InvalidRequest
        assert await exit_status(client) == 0


async def test_exit_without_shutdown_ends_with_status_1() -> None:
    """LSP: the server exits with 0 after a `shutdown`, else with 1 (an editor that died
    mid-session is told apart from a clean stop)."""
    async with initialized_server() as client:
        assert await exit_status(client) == 1
