"""Through the LSP: lines end at LF, CRLF and CR only, as LSP says, not at every character
Python's str.splitlines takes for a line break (form feed, common in old Python and Emacs
sources, vertical tab, \\x1c-\\x1e, NEL, U+2028, U+2029).

With the `openai` engine pointed at the recording server (no model is loaded), the prompt
shows where fimble took the cursor to be: a request after such a line must complete at the
cursor, an edit after it must land where the editor made it, and the answer's range is the
position asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document
from tests.e2e.recording_server import SUGGESTION, RecordingServer, recording_server

pytestmark = pytest.mark.loads_no_model

QUIET = {"speculateNextLine": False, "backgroundPrefill": False, "answerMemory": False}
# A form feed on a line of its own (a page break), a U+2028 and a NEL inside a comment.
DOCUMENT = "import os\n\f\n# see\u2028below\x85too\ndef add(a, b):\n    \n\nprint(1)\n"
LINE, CHARACTER = 4, 4  # the indented empty line in add


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with recording_server() as server:
        yield server


def last_prompt(recorder: RecordingServer) -> str:
    """The prefix of the last openai prompt (qwen FIM markers): the code before the hole."""
    prompt = json.loads(recorder.bodies[-1])["prompt"]
    return str(prompt.partition("<|fim_suffix|>")[0].split("<|fim_prefix|>")[-1])


async def test_a_form_feed_or_line_separator_line_does_not_move_the_cursor(
    start_server: StartServer, recorder: RecordingServer, tmp_path: Path
) -> None:
    client = await start_server(recorder.settings("openai", **QUIET), root_uri=tmp_path.as_uri())
    uri = (tmp_path / "paged.py").as_uri()
    open_document(client, uri, DOCUMENT)
    result = await inline_at(client, uri, LINE, CHARACTER)
    assert only_text(result) == SUGGESTION
    prefix = last_prompt(recorder)
    assert prefix.endswith("def add(a, b):\n"), prefix  # the indent goes after the hole
    assert result.items[0].range == types.Range(
        types.Position(LINE, CHARACTER), types.Position(LINE, CHARACTER)
    )
    # The user types after the form feed: the edit lands where the editor put it.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        types.Position(LINE, CHARACTER), types.Position(LINE, CHARACTER)
                    ),
                    text="total = a\n    ",
                )
            ],
        )
    )
    result = await inline_at(client, uri, LINE + 1, CHARACTER)
    assert only_text(result) == SUGGESTION
    prefix = last_prompt(recorder)
    assert prefix.endswith("def add(a, b):\n    total = a\n"), prefix
