"""One `fimble serve` with a remote engine over a workspace, for a whole test module.

Starting the server costs seconds; tests that only read what the recording server received can
share one (a module-scoped fixture, on a module-scoped event loop). The server runs with the
network audit hook as every e2e server does, and what it tried beyond loopback is checked when
it stops. Helpers to ask for an answer and to time it live here too.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import (
    SERVER_COMMAND,
    audited_env,
    editor_capabilities,
    inline_at,
    network_attempts,
    open_document,
)
from tests.e2e.recording_server import RecordingServer

# Nothing runs in the background (no speculated next line, no prefill) and nothing is
# answered from memory: each request the server gets is one a test made.
QUIET = {"speculateNextLine": False, "backgroundPrefill": False, "answerMemory": False}


@asynccontextmanager
async def serving(
    settings: dict[str, Any], folders: list[Path], audit_log: Path
) -> AsyncIterator[LanguageClient]:
    """A server over `folders` (the first is also the root URI), shut down on exit."""
    config = ClientServerConfig(
        server_command=SERVER_COMMAND, server_env=audited_env(None, audit_log)
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=editor_capabilities(),
                initialization_options=settings,
                root_uri=folders[0].as_uri(),
                workspace_folders=[types.WorkspaceFolder(f.as_uri(), f.name) for f in folders],
            )
        )
        yield client
        await client.shutdown_session()
    finally:
        await client.stop()
    assert network_attempts(audit_log) == []
    assert "audit hook installed" in audit_log.read_text(encoding="utf-8")


def bodies_since(recorder: RecordingServer, start: int) -> list[dict[str, Any]]:
    return [json.loads(body) for body in recorder.bodies[start:]]


def sent_text(body: dict[str, Any]) -> str:
    """Everything of an `/infill` body that comes from documents: snippets, prefix, suffix."""
    extra = "".join(f"{item['filename']}\n{item['text']}" for item in body["input_extra"])
    return extra + body["input_prefix"] + body["prompt"] + body["input_suffix"]


async def ask_at_end(client: LanguageClient, path: Path, text: str) -> types.InlineCompletionList:
    """Open `text` as the document at `path` and ask at its end."""
    open_document(client, path.as_uri(), text)
    lines = text.split("\n")
    return await inline_at(client, path.as_uri(), len(lines) - 1, len(lines[-1]))


async def timed_answer(client: LanguageClient, uri: str, line: int, character: int) -> float:
    """Seconds until the answer at (line, character) arrives; it must carry a suggestion."""
    started = time.perf_counter()
    result = await inline_at(client, uri, line, character)
    elapsed = time.perf_counter() - started
    assert len(result.items) == 1, result
    return elapsed
