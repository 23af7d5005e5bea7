"""Through the LSP, with a remote engine: fimble sends only the requests the user asked for.

After a suggestion the local engine speculates the next line in the background (free: the
model is in the process). With a remote engine each speculation would be one more request
the user never asked for, sending code and spending the server's time and rate limits, so
there is none, whatever speculateNextLine says. No model is loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document
from tests.e2e.recording_server import SUGGESTION, RecordingServer, recording_server

pytestmark = pytest.mark.loads_no_model

DOCUMENT = "def add(a, b):\n    total = a + b\n    "
SPECULATION_WAIT_S = 2.0  # a speculation is sent within milliseconds of the answer


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


async def test_a_remote_engine_gets_no_speculated_next_line(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    settings = recorder.settings("openai", speculateNextLine=True, backgroundPrefill=False)
    client = await start_server(settings, root_uri=tmp_path.as_uri())
    uri = (tmp_path / "adder.py").as_uri()
    open_document(client, uri, DOCUMENT)
    assert only_text(await inline_at(client, uri, 2, 4)) == SUGGESTION
    await asyncio.sleep(SPECULATION_WAIT_S)
    client.workspace_execute_command(
        types.ExecuteCommandParams(command="fimble.accepted", arguments=[uri])
    )
    await asyncio.sleep(SPECULATION_WAIT_S)
    assert len(recorder.bodies) == 1, recorder.bodies  # the request asked for, no other
