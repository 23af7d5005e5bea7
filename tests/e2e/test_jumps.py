"""A jump costs only the suffix once the document's runs are in: through the LSP, real model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from context.next_line import after_enter
from tests.e2e.conftest import StartServer, inline_at, only_text, open_document

pytestmark = pytest.mark.model

SOURCE = Path(__file__).resolve().parents[2] / "engines" / "fim_templates.py"
LINES = 130  # about 1,300 tokens: five anchors, five runs to fill
# Small budgets keep the test quick: anchors 256 tokens apart, suffixes of at most 96.
SETTINGS = {
    "prefixTokens": 512,
    "suffixTokens": 96,
    "contextTokens": 0,
    "speculateNextLine": False,
}


async def stats(client: LanguageClient) -> Any:
    return await client.protocol.send_request_async("fimble/stats", {})


async def counted(client: LanguageClient, kind: str) -> int:
    return int(getattr((await stats(client)).totals, kind, 0))


async def runs_ready(client: LanguageClient) -> None:
    """Wait (event-driven: the server counts it) until the document's runs are all in."""
    for _ in range(6000):  # a cap, not a timing: the server says when
        if await counted(client, "document_runs") >= 1:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the document's runs never became ready")


def source() -> str:
    return "".join(SOURCE.read_text().splitlines(keepends=True)[:LINES])


def blank_lines(text: str) -> list[int]:
    """Blank lines inside function bodies (indented code right above and below)."""
    lines = text.split("\n")
    return [
        number
        for number in range(1, len(lines) - 1)
        if not lines[number].strip()
        and lines[number - 1].startswith("    ")
        and lines[number + 1].startswith("    ")
    ]


async def test_jumps_evaluate_only_the_suffix_once_runs_are_in(
    start_server: StartServer, tmp_path: Path
) -> None:
    text = source()
    spots = blank_lines(text)
    assert len(spots) >= 4, spots
    client = await start_server(SETTINGS, root_uri=tmp_path.as_uri())
    uri = (tmp_path / "fim_templates.py").as_uri()
    open_document(client, uri, text)
    await runs_ready(client)
    # Far down, far up, down again: each a click elsewhere, asked at once.
    for line in (spots[-1], spots[0], spots[len(spots) // 2]):
        await inline_at(client, uri, line, 0)
        record = await stats(client)
        assert record.source == "model", record
        # The prefix is borrowed from the run (not evaluated); the suffix is evaluated.
        assert record.run_tokens > 0, record
        assert record.evaluated_tokens <= SETTINGS["suffixTokens"] + 16, record
        assert record.run_tokens + record.evaluated_tokens >= record.prompt_tokens - 1, record
        if line == spots[-1]:
            assert record.run_tokens > 256, record  # at least one stride of the document


async def test_a_request_stops_the_background_runs_at_once(
    start_server: StartServer, tmp_path: Path
) -> None:
    text = source()
    client = await start_server(SETTINGS, root_uri=tmp_path.as_uri())
    uri = (tmp_path / "fim_templates.py").as_uri()
    open_document(client, uri, text)
    # didOpen queued the runs' evaluation; the request stops it rather than waiting for it,
    # and the evaluation resumes after the answer, keeping what was done.
    await inline_at(client, uri, blank_lines(text)[-1], 0)
    assert await counted(client, "background_stopped") >= 1
    await runs_ready(client)


async def test_the_document_opened_last_gets_its_runs_first(
    start_server: StartServer, tmp_path: Path
) -> None:
    """An editor opens several documents (tabs restored, a neighbour peeked); the one opened
    last is the one in front of the user, so its runs are filled before the others'."""
    text = source()
    client = await start_server(SETTINGS, root_uri=tmp_path.as_uri())
    earlier = (tmp_path / "fim_templates.py").as_uri()
    open_document(client, earlier, text)  # thousands of tokens of runs to fill
    shorter = "".join(text.splitlines(keepends=True)[:40])
    front = (tmp_path / "front.py").as_uri()
    open_document(client, front, shorter)
    await runs_ready(client)  # the first document whose runs are all in
    await inline_at(client, front, blank_lines(shorter)[-1], 0)
    record = await stats(client)
    assert record.run_tokens > 0, record  # the front document's runs were the ones filled
    assert record.evaluated_tokens <= SETTINGS["suffixTokens"] + 16, record


async def test_enter_deep_in_a_file_is_answered_by_the_speculation(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Writing in the middle of a file whose runs are in: the line's suggestion is accepted
    and Enter pressed; the next line's suggestion was worked out meanwhile (the speculation
    fills the run its prompt borrows, down to the cursor, then asks) and comes from memory.
    It waits for the speculation, so it passed with the old run order too: the order is
    tests/unit/test_run_order.py's."""
    lines = source().splitlines(keepends=True)
    number = next(  # an assignment in a method body, low in the file
        index
        for index in range(len(lines) - 2, 60, -1)
        if lines[index].startswith("        ")
        and lines[index][8] != " "
        and " = " in lines[index]
        and lines[index + 1].strip()
    )
    cut = lines[number][: lines[number].index(" = ") + 3]
    text = "".join([*lines[:number], cut + "\n", *lines[number + 1 :]])
    client = await start_server({**SETTINGS, "speculateNextLine": True}, root_uri=tmp_path.as_uri())
    uri = (tmp_path / "fim_templates.py").as_uri()
    open_document(client, uri, text)
    await runs_ready(client)
    offset = sum(map(len, lines[:number])) + len(cut)
    automatic = types.InlineCompletionTriggerKind.Automatic
    suggestion = only_text(await inline_at(client, uri, number, len(cut), automatic))
    assert "\n" not in suggestion, suggestion
    for _ in range(600):  # the server counts it; a cap, not a timing
        if await counted(client, "speculated") >= 1:
            break
        await asyncio.sleep(0.1)
    predicted = after_enter(text, offset, suggestion, 0, "python")
    assert predicted is not None
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text=predicted.text)],
        )
    )
    indent = len(predicted.text[: predicted.offset].rsplit("\n", 1)[1])
    await inline_at(client, uri, number + 1, indent, automatic)
    assert (await stats(client)).source == "speculation"
