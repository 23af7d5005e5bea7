"""A keystroke costs only what changed: the server's own records, with the real model."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import StartServer, inline_at, open_document
from tests.e2e.generation_hold import SERVER_COMMAND as HOLDING_SERVER
from tests.e2e.generation_hold import GenerationHold

SOURCE = Path(__file__).resolve().parents[2] / "engines" / "kv_reuse.py"
# `fimble serve` that also writes llama.cpp's report of each context it creates.
CONTEXT_REPORTING_SERVER = [sys.executable, "-m", "tests.e2e.llama_context_report", "serve"]


def type_at(
    client: LanguageClient, uri: str, version: int, line: int, column: int, text: str
) -> None:
    at = types.Position(line, column)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)],
        )
    )


def delete_before(client: LanguageClient, uri: str, version: int, line: int, column: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        types.Position(line, column - 1), types.Position(line, column)
                    ),
                    text="",
                )
            ],
        )
    )


async def stats(client: LanguageClient) -> Any:
    return await client.protocol.send_request_async("fimble/stats", {})


async def until_counted(client: LanguageClient, event: str) -> int:
    """Wait for background work to be counted in the totals (it answers no request)."""
    for _ in range(600):  # a guard against waiting forever, not a speed requirement
        count = int(getattr((await stats(client)).totals, event, 0))
        if count:
            return count
        await asyncio.sleep(0.1)
    return 0


def blank_line_of(text: str, needle: str) -> tuple[str, int, str]:
    """The text with the line containing `needle` emptied to its indentation."""
    lines = text.split("\n")
    number = next(n for n, line in enumerate(lines) if needle in line)
    indent = lines[number][: len(lines[number]) - len(lines[number].lstrip())]
    lines[number] = indent
    return "\n".join(lines), number, indent


@pytest.mark.parametrize("kv_cache_type", ["f16", "q8_0"])
async def test_a_keystroke_evaluates_a_handful_of_tokens(
    start_server: StartServer, kv_cache_type: str, tmp_path: Path
) -> None:
    # q8_0: shifting a quantized K cache (llama.cpp dequantizes, re-ropes, requantizes).
    report = tmp_path / "llama-contexts.log"
    client = await start_server(
        {"kvCacheType": kv_cache_type},
        env={**os.environ, "FIMBLE_LLAMA_CONTEXT_REPORT": str(report)},
        server_command=CONTEXT_REPORTING_SERVER,
    )
    text, line, indent = blank_line_of(SOURCE.read_text(), "limit = max(len(prompt) - 1, 0)")
    uri = "file:///work/kv_reuse.py"
    open_document(client, uri, text)
    first = await inline_at(client, uri, line, len(indent))
    before = await stats(client)
    assert before.source == "model" and before.prompt_tokens > 300
    suggested = first.items[0].insert_text if first.items else ""
    typed = next(c for c in "#qz" if not str(suggested).startswith(c))
    type_at(client, uri, 2, line, len(indent), typed)
    await inline_at(client, uri, line, len(indent) + 1)
    after = await stats(client)
    assert after.source == "model"
    assert after.evaluated_tokens <= 16, after
    assert after.reused_tokens >= after.prompt_tokens - 16
    assert after.moved_tokens > 100  # the suffix was shifted into place, not evaluated
    # The setting reached llama.cpp: its own account of the one context it made.
    made = re.findall(r"\bK \((\w+)\): .*\bV \((\w+)\)", report.read_text(encoding="utf-8"))
    assert made == [(kv_cache_type, kv_cache_type)], report.read_text(encoding="utf-8")


async def test_typing_through_answers_without_the_model(client: LanguageClient) -> None:
    uri = "file:///work/through.py"
    open_document(client, uri, "def add(first, second):\n    return \n")
    suggestion = str((await inline_at(client, uri, 1, 11)).items[0].insert_text)
    assert "first" in suggestion and len(suggestion) > 3
    type_at(client, uri, 2, 1, 11, suggestion[:2])
    result = await inline_at(client, uri, 1, 13)
    record = await stats(client)
    assert record.source == "typing_through"
    assert result.items[0].insert_text == suggestion[2:]


async def test_switching_files_keeps_each_files_cache(client: LanguageClient) -> None:
    text, line, indent = blank_line_of(SOURCE.read_text(), "limit = max(len(prompt) - 1, 0)")
    first, second = "file:///work/first.py", "file:///work/second.py"
    open_document(client, first, text)
    open_document(client, second, text.replace("prompt", "request"))
    await inline_at(client, first, line, len(indent))
    await inline_at(client, second, line, len(indent))
    type_at(client, first, 2, line, len(indent), "#")
    await inline_at(client, first, line, len(indent) + 1)
    record = await stats(client)
    assert record.source == "model"
    assert record.evaluated_tokens <= 16, record


async def test_a_burst_of_200_keystroke_requests(start_server: StartServer, tmp_path: Path) -> None:
    hold = GenerationHold(tmp_path)
    client = await start_server(env=hold.env(), server_command=HOLDING_SERVER)
    uri = "file:///work/burst.py"
    open_document(client, uri, "def add(first, second):\n    return \n")
    open_document(client, "file:///work/warm.py", "def add(first, second):\n    return \n")
    await inline_at(client, "file:///work/warm.py", 1, 11)  # the model is loaded
    comment = "  # " + "and now a long comment that keeps going " * 3
    comment = comment[:100]
    requests: list[asyncio.Future[Any]] = []
    version = 1
    column = 11
    for step in range(200):
        version += 1
        if step < 100:
            type_at(client, uri, version, 1, column, comment[step])
            column += 1
        else:
            delete_before(client, uri, version, 1, column)
            column -= 1
        if step == 0:
            hold.arm(uri)
        requests.append(
            asyncio.ensure_future(
                client.text_document_inline_completion_async(
                    types.InlineCompletionParams(
                        text_document=types.TextDocumentIdentifier(uri),
                        position=types.Position(1, column),
                        context=types.InlineCompletionContext(
                            trigger_kind=types.InlineCompletionTriggerKind.Automatic
                        ),
                    )
                )
            )
        )
        if step == 0:
            # The first keystroke's request is generating (held there): every later keystroke
            # arrives while model work is in flight, however fast the machine.
            await hold.held()
    await asyncio.sleep(0)  # the requests' tasks send them
    hold.release()
    answers = await asyncio.wait_for(asyncio.gather(*requests, return_exceptions=True), 300)
    assert all(isinstance(answer, types.InlineCompletionList) for answer in answers), [
        a for a in answers if not isinstance(a, types.InlineCompletionList)
    ][:3]
    last = answers[-1]
    assert isinstance(last, types.InlineCompletionList) and last.items
    assert "first" in str(last.items[0].insert_text)
    record = await stats(client)
    # Newer keystrokes superseded model work in flight instead of queueing behind it: the
    # first request's generation was stopped, not finished and thrown away.
    assert getattr(record.totals, "cancelled", 0) >= 1, record.totals
    stopped = [r for r in record.recent if r.source == "cancelled" and r.stop_reason == "cancelled"]
    assert stopped, record.recent


@pytest.mark.parametrize("cache", [False])
async def test_caches_off_evaluates_the_whole_prompt(
    start_server: StartServer, cache: bool
) -> None:
    client = await start_server(
        {"kvReuse": cache, "answerMemory": cache, "backgroundPrefill": cache}
    )
    uri = "file:///work/off.py"
    open_document(client, uri, "def add(first, second):\n    return \n")
    await inline_at(client, uri, 1, 11)
    await inline_at(client, uri, 1, 11)
    record = await stats(client)
    assert record.source == "model"
    assert record.evaluated_tokens == record.prompt_tokens


async def test_an_idle_editor_gets_the_prompt_prefilled(client: LanguageClient) -> None:
    text, line, indent = blank_line_of(SOURCE.read_text(), "limit = max(len(prompt) - 1, 0)")
    uri = "file:///work/idle.py"
    open_document(client, uri, text)
    await inline_at(client, uri, line, len(indent))
    type_at(client, uri, 2, line, len(indent), "#")
    type_at(client, uri, 3, line, len(indent) + 1, " ")
    # The prefill starts after a pause and runs on the worker.
    assert await until_counted(client, "idle_prefill") == 1
    await inline_at(client, uri, line, len(indent) + 2)
    record = await stats(client)
    assert record.source == "model"
    assert record.evaluated_tokens == 1  # only the prompt's last token, for its logits


async def test_a_request_elsewhere_stops_the_idle_prefill(client: LanguageClient) -> None:
    """The user moved on: prefilling the file left behind would only delay the answer."""
    text, line, indent = blank_line_of(SOURCE.read_text(), "limit = max(len(prompt) - 1, 0)")
    left, current, probe = (f"file:///work/{name}.py" for name in ("left", "current", "probe"))
    column = len("    return ")
    open_document(client, left, text)
    open_document(client, current, "def add(a, b):\n    return \n\n\ndef sub(a, b):\n    return \n")
    open_document(client, probe, "def mul(a, b):\n    return \n")
    await inline_at(client, current, 1, column)  # the model is loaded and the worker idle
    type_at(client, left, 2, line, len(indent), "#")  # after an idle pause, `left` is prefilled
    await inline_at(client, current, 5, column)  # ...unless a request comes first, as here
    # The clock: `probe`, edited after `left`, is prefilled after the same pause. Had the
    # prefill of `left` not been stopped, it would have started first and run first (one
    # worker, in order), so when a prefill is counted, it would be that of `left`.
    type_at(client, probe, 2, 1, column, "a")
    await until_counted(client, "idle_prefill")
    await inline_at(client, probe, 1, column + 1)
    record = await stats(client)
    assert record.source == "model"
    assert record.evaluated_tokens == 1, record  # the prefill counted was that of `probe`
    assert getattr(record.totals, "idle_prefill", 0) == 1, record.totals  # `left` had none


async def automatic_at(
    client: LanguageClient, uri: str, line: int, character: int
) -> types.InlineCompletionList:
    """A request as editors send them while the user types."""
    return await inline_at(
        client, uri, line, character, types.InlineCompletionTriggerKind.Automatic
    )


async def test_typing_after_a_jump_starts_from_the_nearest_lines_then_gets_the_full_window(
    start_server: StartServer,
) -> None:
    client = await start_server({"quickStartTokens": 200})
    text, line, indent = blank_line_of(SOURCE.read_text(), "limit = max(len(prompt) - 1, 0)")
    uri = "file:///work/jump.py"
    open_document(client, uri, text)
    type_at(client, uri, 2, line, len(indent), "#")
    answer = await automatic_at(client, uri, line, len(indent) + 1)
    quick = await stats(client)
    assert quick.source == "model"
    # About quickStartTokens (200) of code: whole lines, plus the FIM markers.
    assert quick.prompt_tokens <= 240 and quick.evaluated_tokens <= 240, quick
    # No edit follows the answer, so no idle timer runs: only the evaluation started right
    # after answering can bring the full window in.
    assert await until_counted(client, "idle_prefill") == 1
    suggested = str(answer.items[0].insert_text) if answer.items else ""
    typed = next(c for c in "qz" if not suggested.startswith(c))  # not typing through
    type_at(client, uri, 3, line, len(indent) + 1, typed)
    await automatic_at(client, uri, line, len(indent) + 2)  # before any idle timer fires
    full = await stats(client)
    assert full.source == "model"
    assert full.prompt_tokens > 300 and full.evaluated_tokens <= 16, full
