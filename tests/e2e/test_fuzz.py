"""Hostile and malformed LSP messages against the real server, which must keep answering.

Hypothesis generates the cases (wrong types, positions past the end or negative, unknown
URIs, lone UTF-16 surrogates, NUL and control bytes, huge documents, changes out of order or
out of range, unknown methods, bodies that are not JSON or not UTF-8); they are sent over
stdio to `fimble serve` with the real default model. Every request must get an answer (a
result, or an error that says what was wrong: never an internal error, -32603), and after
every batch a valid request must still be answered correctly. The figures are printed
(`pytest -s`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document

pytestmark = pytest.mark.model

OPEN_URI = "file:///work/fuzz_target.py"
TARGET = "import os\n\n\ndef add(a, b):\n    return a + b\n\n\nclass K:\n    pass\n"
CASES = 150
CHECK_EVERY = 15
# A liveness guard, not a speed requirement: an unanswered request would wait forever.
ANSWER_GUARD_SECONDS = 300

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_any = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
hostile_int = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([-1, 2**31 - 1, 2**31, 2**53, -(2**31)]),
    json_any,
)
position = st.one_of(
    st.fixed_dictionaries({"line": hostile_int, "character": hostile_int}),
    st.fixed_dictionaries({"line": st.integers(0, 12), "character": st.integers(0, 200)}),
    json_any,
)
uri = st.one_of(
    st.sampled_from([OPEN_URI, OPEN_URI, "file:///never/opened.py", "", "not a uri", "\x00"]),
    json_any,
)
special_text = st.sampled_from(
    [
        "x = 1\n" * 300_000,  # 1.8 MB
        "\x00\x01\x02\x7f binary \xff\xfe",
        "lone surrogates \ud800 \udfff \udbff\udbff end",
        "emoji 😀👩‍👩‍👧 " * 50,
        "mixed\r\nline\rendings\n\r\n",
        "",
        "\t" * 5000,
    ]
)
text = st.one_of(st.text(max_size=300), special_text)
language = st.one_of(st.sampled_from(["python", "plaintext", "", "rust", "c"]), json_any)
change = st.one_of(
    st.fixed_dictionaries(
        {"range": st.fixed_dictionaries({"start": position, "end": position}), "text": text}
    ),
    st.fixed_dictionaries({"text": text}),
    json_any,
)


@dataclass(frozen=True)
class Case:
    method: str
    params: Any
    request: bool
    raw: bytes = b""  # a whole body sent as is (with a correct Content-Length)


def _text_document_params(method: str) -> st.SearchStrategy[Case]:
    request_params = st.one_of(
        st.fixed_dictionaries(
            {"textDocument": st.fixed_dictionaries({"uri": uri}), "position": position},
            optional={"context": st.fixed_dictionaries({"triggerKind": hostile_int})},
        ),
        json_any,
    )
    return st.builds(Case, st.just(method), request_params, st.just(True))


near_valid_inline = st.builds(
    Case,
    st.just("textDocument/inlineCompletion"),
    st.fixed_dictionaries(
        {
            "textDocument": st.fixed_dictionaries({"uri": st.just(OPEN_URI)}),
            "position": st.fixed_dictionaries(
                {"line": st.integers(0, 12), "character": st.integers(0, 300)}
            ),
            "context": st.fixed_dictionaries({"triggerKind": st.sampled_from([1, 2])}),
        }
    ),
    st.just(True),
)
cases = st.one_of(
    near_valid_inline,
    _text_document_params("textDocument/inlineCompletion"),
    _text_document_params("textDocument/completion"),
    st.builds(
        Case,
        st.just("textDocument/didOpen"),
        st.one_of(
            st.fixed_dictionaries(
                {
                    "textDocument": st.fixed_dictionaries(
                        {"uri": uri, "languageId": language, "version": hostile_int, "text": text}
                    )
                }
            ),
            json_any,
        ),
        st.just(False),
    ),
    st.builds(
        Case,
        st.just("textDocument/didChange"),
        st.one_of(
            st.fixed_dictionaries(
                {
                    "textDocument": st.fixed_dictionaries({"uri": uri, "version": hostile_int}),
                    "contentChanges": st.lists(change, max_size=3) | json_any,
                }
            ),
            json_any,
        ),
        st.just(False),
    ),
    st.builds(
        Case,
        st.just("textDocument/didClose"),
        st.fixed_dictionaries({"textDocument": st.fixed_dictionaries({"uri": uri})}),
        st.just(False),
    ),
    st.builds(
        Case, st.just("$/cancelRequest"), st.fixed_dictionaries({"id": json_any}), st.just(False)
    ),
    st.builds(Case, st.sampled_from(["fimble/nothing", "workspace/nope"]), json_any, st.booleans()),
    st.builds(
        Case,
        st.just("(raw body)"),
        st.none(),
        st.just(False),
        st.sampled_from(
            [
                b"{not json",
                b"\xff\xfe\x00 not utf-8",
                b"[1, 2, 3]",
                b"42",
                b'{"id": 7}',
                b'{"jsonrpc": "2.0", "method": 5, "id": "x"}',
                b'{"jsonrpc": "2.0", "method": "textDocument/inlineCompletion"}',
            ]
        ),
    ),
)


def generate_cases(count: int) -> list[Case]:
    found: list[Case] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases)
    def collect(case: Case) -> None:
        found.append(case)

    collect()
    return found


def send_raw_body(client: LanguageClient, body: bytes) -> None:
    header = f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
    client.protocol.writer.write(header + body)


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
    open_document(client, check_uri, "def add(a, b):\n    return \n")
    suggestion = only_text(await inline_at(client, check_uri, 1, len("    return ")))
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
