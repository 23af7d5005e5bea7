"""Hostile and malformed LSP messages against the real server, which must keep answering.

Hypothesis generates the cases (bench/hostile_messages.py, shared with the fuzz benchmark
bench/fuzz.py: wrong types, positions past the end or negative, unknown URIs, lone UTF-16
surrogates, NUL and control bytes, huge documents, changes out of order or out of range,
unknown methods, bodies that are not JSON or not UTF-8); they are sent over stdio to `fimble
serve` with the real default model. Every request must get an answer (a result, or an error
that says what was wrong: never an internal error, -32603), and after every batch a valid
request must still be answered correctly. The figures are printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from bench.hostile_messages import (
    CHECK_CURSOR,
    CHECK_TEXT,
    OPEN_URI,
    TARGET,
    Case,
    frame,
    generate_cases,
)
from tests.e2e.conftest import StartServer, inline_at, only_text, open_document

pytestmark = pytest.mark.model

CASES = 150
CHECK_EVERY = 15
# A liveness guard, not a speed requirement: an unanswered request would wait forever.
ANSWER_GUARD_SECONDS = 300


def send_raw_body(client: LanguageClient, body: bytes) -> None:
    client.protocol.writer.write(frame(body))


async def send_request(client: LanguageClient, method: str, params: Any, msg_id: str) -> str:
    future = client.protocol._request_futures[msg_id] = asyncio.get_running_loop().create_future()
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    send_raw_body(client, body.encode("ascii"))
    try:
        await asyncio.wait_for(future, ANSWER_GUARD_SECONDS)
    except JsonRpcException as error:
        # Bad input gets a clear error (invalid params, method not found...); an internal
        # error means a handler failed on it.
        return "internal error" if error.code == types.ErrorCodes.InternalError else "error"
    except TimeoutError:
        return "unanswered"
    return "result"


async def assert_answers_correctly(client: LanguageClient, round_number: int) -> None:
    check_uri = f"file:///work/fuzz_check_{round_number}.py"
    open_document(client, check_uri, CHECK_TEXT)
    suggestion = only_text(await inline_at(client, check_uri, *CHECK_CURSOR))
    assert "a" in suggestion and "b" in suggestion, suggestion


async def test_hostile_messages_never_stop_the_server(start_server: StartServer) -> None:
    client = await start_server({"maxTokens": 8})
    open_document(client, OPEN_URI, TARGET)
    generated = generate_cases(CASES)
    outcomes: dict[str, int] = {
        "result": 0,
        "error": 0,
        "internal error": 0,
        "unanswered": 0,
        "notification": 0,
    }
    internal_errors: list[Case] = []
    for number, case in enumerate(generated):
        if case.raw:
            send_raw_body(client, case.raw)
            outcomes["notification"] += 1
        elif case.request:
            outcome = await send_request(client, case.method, case.params, f"fuzz-{number}")
            outcomes[outcome] += 1
            if outcome == "internal error":
                internal_errors.append(case)
        else:
            body = json.dumps({"jsonrpc": "2.0", "method": case.method, "params": case.params})
            send_raw_body(client, body.encode("ascii"))
            outcomes["notification"] += 1
        if (number + 1) % CHECK_EVERY == 0:
            await assert_answers_correctly(client, number)
            open_document(client, OPEN_URI, TARGET)  # the cases may have closed or mangled it
    await assert_answers_correctly(client, CASES)
    print(f"\nfuzz: {len(generated)} cases, outcomes {outcomes}, crashes 0")
    assert outcomes["unanswered"] == 0
    assert internal_errors == [], internal_errors[:3]
    assert len(generated) == CASES
