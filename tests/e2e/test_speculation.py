"""The next line is ready before Enter: speculation through the LSP, with the real model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document
from tests.e2e.test_keystrokes import blank_line_of

pytestmark = pytest.mark.model

SOURCE = (
    "def area(width, height):\n"
    "    return width * height\n"
    "\n"
    "\n"
    "def describe(width, height):\n"
    "    size = area(width, height)\n"
    "    label = "
)
LINE = 6
COLUMN = len("    label = ")
AUTOMATIC = types.InlineCompletionTriggerKind.Automatic
# Background prefills after edits would make the two servers' histories differ in timing.
SETTINGS = {"backgroundPrefill": False, "contextTokens": 0}


async def stats(client: LanguageClient) -> Any:
    return await client.protocol.send_request_async("fimble/stats", {})


async def totals_once(
    client: LanguageClient, kind: str, at_least: int = 1, poll_s: float = 0.1
) -> Any:
    """The server's totals once `kind` has been counted `at_least` times (background work
    is not waited for by fimble/stats, so this asks until it has, for a minute)."""
    for _ in range(int(60 / poll_s)):
        totals = (await stats(client)).totals
        if getattr(totals, kind, 0) >= at_least:
            return totals
        await asyncio.sleep(poll_s)
    raise AssertionError(f"{kind} never counted: {totals}")


def accept_and_enter(client: LanguageClient, uri: str, suggestion: str, indent: str) -> None:
    at = types.Position(LINE, COLUMN)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(at, at), text=suggestion + "\n" + indent
                )
            ],
        )
    )


async def start_in(start_server: StartServer, folder: Path, **settings: object) -> LanguageClient:
    return await start_server({**SETTINGS, **settings}, root_uri=folder.as_uri())


async def speculated(
    start_server: StartServer, folder: Path, uri: str
) -> tuple[LanguageClient, str]:
    """A server that showed a one-line suggestion and has speculated the next line."""
    client = await start_in(start_server, folder)
    open_document(client, uri, SOURCE)
    suggestion = only_text(await inline_at(client, uri, LINE, COLUMN, AUTOMATIC))
    assert "\n" not in suggestion
    await totals_once(client, "speculated")
    return client, suggestion


async def test_enter_after_a_suggestion_is_answered_from_memory(
    start_server: StartServer, tmp_path: Path
) -> None:
    uri = (tmp_path / "shapes.py").as_uri()
    client, suggestion = await speculated(start_server, tmp_path, uri)
    accept_and_enter(client, uri, suggestion, "    ")
    ahead = await inline_at(client, uri, LINE + 1, 4, AUTOMATIC)
    answered = await stats(client)
    assert answered.source == "speculation", answered
    assert answered.evaluated_tokens == 0

    assert texts(ahead) == await without_speculation(start_server, tmp_path, uri, suggestion)


async def test_enter_while_the_speculation_asks_the_model_gets_its_answer(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The user typed through quickly: the Enter comes while the speculation is still
    decoding. Its request waits for the speculation instead of stopping it and asking the
    model again (tests/unit/test_scheduler_speculation.py holds the timing still)."""
    uri = (tmp_path / "shapes.py").as_uri()
    client = await start_in(start_server, tmp_path)
    open_document(client, uri, SOURCE)
    suggestion = only_text(await inline_at(client, uri, LINE, COLUMN, AUTOMATIC))
    await totals_once(client, "speculation_asking", poll_s=0.005)
    accept_and_enter(client, uri, suggestion, "    ")
    ahead = await inline_at(client, uri, LINE + 1, 4, AUTOMATIC)
    answered = await stats(client)
    assert answered.source == "speculation", answered
    assert getattr(answered.totals, "model", 0) == 1  # the first answer only
    assert texts(ahead) == await without_speculation(start_server, tmp_path, uri, suggestion)


def texts(answer: types.InlineCompletionList) -> list[str | types.StringValue]:
    return [item.insert_text for item in answer.items]


async def without_speculation(
    start_server: StartServer, folder: Path, uri: str, suggestion: str
) -> list[str | types.StringValue]:
    """The same steps on a server that does not speculate: the model's own answer there."""
    plain = await start_in(start_server, folder, speculateNextLine=False)
    open_document(plain, uri, SOURCE)
    assert only_text(await inline_at(plain, uri, LINE, COLUMN, AUTOMATIC)) == suggestion
    accept_and_enter(plain, uri, suggestion, "    ")
    expected = await inline_at(plain, uri, LINE + 1, 4, AUTOMATIC)
    assert (await stats(plain)).source == "model"
    return texts(expected)


async def test_a_speculation_is_not_used_where_the_text_differs(
    start_server: StartServer, tmp_path: Path
) -> None:
    uri = (tmp_path / "shapes.py").as_uri()
    client, suggestion = await speculated(start_server, tmp_path, uri)
    accept_and_enter(client, uri, suggestion + " + 1", "    ")  # not what was predicted
    await inline_at(client, uri, LINE + 1, 4, AUTOMATIC)
    assert (await stats(client)).source == "model"


async def test_a_request_stops_the_speculation_and_an_accept_restarts_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    uri = (tmp_path / "shapes.py").as_uri()
    other = (tmp_path / "other.py").as_uri()
    client = await start_in(start_server, tmp_path)
    open_document(client, uri, SOURCE)
    open_document(client, other, "value = compute()\n")
    suggestion = only_text(await inline_at(client, uri, LINE, COLUMN, AUTOMATIC))
    # A request elsewhere (mid-word: no suggestion fits, so none is speculated after it).
    assert not (await inline_at(client, other, 0, 2)).items
    totals = await totals_once(client, "background_stopped")
    assert getattr(totals, "speculated", 0) == 0, totals
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="fimble.accepted", arguments=[uri])
    )
    await totals_once(client, "speculated")
    accept_and_enter(client, uri, suggestion, "    ")
    await inline_at(client, uri, LINE + 1, 4, AUTOMATIC)
    assert (await stats(client)).source == "speculation"


async def test_a_finished_speculation_leaves_the_next_keystroke_cheap(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The user reads the suggestion, the next line is worked out meanwhile, and then the
    user types something else: the keystroke still costs a handful of tokens. (It holds
    with the speculation in a lane or in the document's own sequence, checked; the
    keystroke that stops a speculation still running is test_keystrokes' handful test.)"""
    source = (Path(__file__).resolve().parents[2] / "engines" / "kv_reuse.py").read_text()
    text, line, indent = blank_line_of(source, "limit = max(len(prompt) - 1, 0)")
    column = len(indent)
    uri = (tmp_path / "kv_reuse.py").as_uri()
    client = await start_in(start_server, tmp_path)
    open_document(client, uri, text)
    suggestion = only_text(await inline_at(client, uri, line, column, AUTOMATIC))
    assert "\n" not in suggestion
    await totals_once(client, "speculated")
    typed = next(character for character in "#qz" if not suggestion.startswith(character))
    at = types.Position(line, column)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangePartial(range=types.Range(at, at), text=typed)],
        )
    )
    await inline_at(client, uri, line, column + 1, AUTOMATIC)
    record = await stats(client)
    assert record.source == "model", record
    assert record.prompt_tokens > 300, record  # a real suffix below
    assert record.evaluated_tokens <= 16, record
