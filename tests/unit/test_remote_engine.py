"""Remote engine requests and parsing, and the engine against servers that fail.

llama-cpp-python's server has no `/infill`, so the `/infill` engine's wire format is checked
here against a loopback stub that answers the way llama-server documents its streamed
events; the OpenAI path runs against a real server in tests/e2e/test_remote_engine.py. The
faults (tests/e2e/misbehaving_server.py) are checked here where the engine alone shows them
(memory, cancellation, a certificate fimble is made to trust); through the LSP in
tests/e2e/test_remote_faults.py.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import certifi
import pytest

from engines.completion_engine import CompletionCancelled, ContextSnippet, FimRequest
from engines.fim_templates import FIM_TEMPLATES, path_comment_block, template_named, text_prompt
from engines.remote_engine import (
    RemoteEngine,
    RemoteEngineConfig,
    RemoteEngineError,
    estimate_tokens,
)
from engines.server_connection import (
    RETRY_AFTER_DEFAULT_S,
    RETRY_AFTER_MAX_S,
    AnswerTooLong,
    capped_lines,
    retry_after_seconds,
)
from tests.e2e.misbehaving_server import (
    HEALTHY,
    HUGE,
    HUGE_BYTES,
    HUGE_ERROR,
    MALFORMED,
    SILENT,
    MisbehavingServer,
    tls_context,
)

ROOT = Path(__file__).resolve().parents[2]


def test_text_prompts_follow_each_format() -> None:
    prompts = {t.name: text_prompt(t, "def f():\n    ", "\nx = 1") for t in FIM_TEMPLATES}
    # The cursor line's typed part follows the middle marker (see split_at_line_start).
    assert prompts["qwen"] == "<|fim_prefix|>def f():\n<|fim_suffix|>\nx = 1<|fim_middle|>    "
    assert prompts["deepseek"] == "<｜fim▁begin｜>def f():\n<｜fim▁hole｜>\nx = 1<｜fim▁end｜>    "
    assert prompts["codellama"] == "<PRE> def f():\n     <SUF>\nx = 1 <MID>"
    assert prompts["codestral"] == "[SUFFIX]\nx = 1[PREFIX]def f():\n    "


def test_marker_strings_in_code_are_removed() -> None:
    qwen = template_named("qwen")
    prompt = text_prompt(qwen, 's = "<|fim_middle|><|endoftext|>"', "")
    assert prompt == '<|fim_prefix|><|fim_suffix|><|fim_middle|>s = ""'


SNIPPETS = (
    ContextSnippet("pkg/a.py", "def f(x):\n    ..."),
    ContextSnippet("pkg/b.py", "X = '<|fim_middle|>'\n"),
)


def test_text_prompts_carry_other_files_as_the_local_engine_lays_them_out() -> None:
    """The same layout as the local prompt (test_fim_templates: repository-level markers, or
    path comments where the template has none), with marker strings in code removed."""
    qwen = template_named("qwen")
    prompt = text_prompt(qwen, "y = ", "\n", SNIPPETS, "pkg/main.py", "proj")
    assert prompt == (
        "<|repo_name|>proj\n<|file_sep|>pkg/a.py\ndef f(x):\n    ...\n<|file_sep|>pkg/b.py\n"
        "X = ''\n<|file_sep|>pkg/main.py\n<|fim_prefix|><|fim_suffix|>\n<|fim_middle|>y = "
    )
    deepseek = template_named("deepseek")
    prompt = text_prompt(deepseek, "y = ", "\n", SNIPPETS[:1], "pkg/main.py", "proj")
    comments = path_comment_block(SNIPPETS[:1], "pkg/main.py")
    assert prompt == f"<｜fim▁begin｜>{comments}<｜fim▁hole｜>\n<｜fim▁end｜>y = "
    # No snippets: exactly the prompt without context.
    assert text_prompt(qwen, "y = ", "\n", (), "pkg/main.py", "proj") == text_prompt(
        qwen, "y = ", "\n"
    )


def test_remote_bodies_carry_the_snippets_with_their_paths() -> None:
    request = FimRequest("y = ", "\n", 8, file_path="pkg/main.py", snippets=SNIPPETS)
    openai = RemoteEngine(RemoteEngineConfig("openai", "http://127.0.0.1:9"))
    assert openai.request_body(request)["prompt"].startswith(
        "<|repo_name|>workspace\n<|file_sep|>pkg/a.py\ndef f(x):\n    ...\n<|file_sep|>"
    )
    infill = RemoteEngine(RemoteEngineConfig("infill", "http://127.0.0.1:9"))
    assert infill.request_body(request)["input_extra"] == [
        {"filename": "pkg/a.py", "text": "def f(x):\n    ...\n"},  # ends its line, as locally
        {"filename": "pkg/b.py", "text": "X = '<|fim_middle|>'\n"},  # the server parses no markers
    ]
    openai.close()
    infill.close()


def test_openai_body_is_greedy_streamed_and_stops_on_markers() -> None:
    engine = RemoteEngine(RemoteEngineConfig("openai", "https://llm.example.com/", model="m"))
    body = engine.request_body(FimRequest("a = ", "\nb = 2", 16))
    assert body["prompt"] == "<|fim_prefix|><|fim_suffix|>\nb = 2<|fim_middle|>a = "
    assert body["stream"] is True and body["temperature"] == 0.0 and body["max_tokens"] == 16
    assert body["model"] == "m"
    assert body["stop"][0] == "<|endoftext|>" and len(body["stop"]) <= 4
    assert engine.description.details["server"] == "https://llm.example.com"
    engine.close()


def test_bad_configuration_is_explained() -> None:
    with pytest.raises(RemoteEngineError, match="http:// or https://"):
        RemoteEngine(RemoteEngineConfig("openai", "ftp://host"))
    with pytest.raises(RemoteEngineError, match=r"FIMBLE_NO_SUCH_KEY.*not set"):
        RemoteEngine(RemoteEngineConfig("openai", "http://h", api_key_env="FIMBLE_NO_SUCH_KEY"))


@pytest.mark.model
def test_token_estimate_is_high_for_whole_files() -> None:
    from engines.llama_runtime import LlamaModel
    from engines.model_files import assemble_embedded_model

    qwen = LlamaModel(assemble_embedded_model(), vocab_only=True)
    for path in sorted((ROOT / "engines").glob("*.py")):
        text = path.read_text()
        assert estimate_tokens(text) >= len(qwen.tokenize(text)), path
    assert estimate_tokens("") == 0


class _InfillStub(BaseHTTPRequestHandler):
    """Answers POST /infill with streamed events shaped like llama-server's."""

    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _InfillStub.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200 if self.path == "/infill" else 404)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for event in ({"content": "a +", "stop": False}, {"content": " b", "stop": False}):
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        final = {"content": "", "stop": True, "stop_type": "eos"}
        self.wfile.write(f"data: {json.dumps(final)}\n\n".encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def infill_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _InfillStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_infill_request_and_stream(infill_server: str) -> None:
    engine = RemoteEngine(RemoteEngineConfig("infill", infill_server))
    request = FimRequest(
        "def add(a, b):\n    return ",
        "\n",
        32,
        snippets=(ContextSnippet("util.py", "def sub(a, b):\n    return a - b\n"),),
    )
    text = "".join(engine.stream(request, threading.Event()))
    assert text == "a + b"
    body = _InfillStub.bodies[-1]
    assert body["input_prefix"] == "def add(a, b):\n" and body["prompt"] == "    return "
    assert body["input_suffix"] == "\n"
    assert body["input_extra"] == [{"filename": "util.py", "text": request.snippets[0].text}]
    assert body["stream"] is True and body["n_predict"] == 32
    assert engine.last_stats.generated_tokens == 2 and engine.last_stats.stop_reason == "eos"
    engine.close()


def test_a_steered_request_is_not_sent_to_a_server_that_cannot_be_steered() -> None:
    # Port 9 on loopback: were a request sent, it would fail with a connection error.
    engine = RemoteEngine(RemoteEngineConfig("openai", "http://127.0.0.1:9/", model="m"))
    request = FimRequest("a = ", "\nb = 2", 16, avoid_start="return a")
    assert list(engine.stream(request, threading.Event())) == []
    assert engine.last_stats.stop_reason == "cannot_avoid"
    engine.close()


REQUEST = FimRequest("def add(a, b):\n    return a", "\n", 16)


@pytest.fixture
def misbehaving() -> Iterator[MisbehavingServer]:
    server = MisbehavingServer()
    yield server
    server.close()


def engine_at(url: str, timeout_seconds: float = 5.0) -> RemoteEngine:
    return RemoteEngine(RemoteEngineConfig("openai", url, timeout_seconds=timeout_seconds))


@pytest.mark.parametrize("fault", [HUGE, HUGE_ERROR])
def test_a_huge_answer_is_not_read_whole(fault: str, misbehaving: MisbehavingServer) -> None:
    misbehaving.fault = fault
    engine = engine_at(misbehaving.url)
    tracemalloc.start()
    try:
        with pytest.raises(RemoteEngineError):
            list(engine.stream(REQUEST, threading.Event()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        engine.close()
    print(f"{fault}: peak {peak / 1e6:.2f} MB traced for a {HUGE_BYTES / 1e6:.1f} MB answer")
    assert peak < HUGE_BYTES / 2


MALFORMED_CASES = (
    "{not json",
    "[1, 2]",
    '{"choices": 5}',
    '{"choices": ["text"]}',
    '{"choices": [{"text": 7}]}',
)


def test_malformed_events_drop_the_answer_with_one_message(
    misbehaving: MisbehavingServer,
) -> None:
    misbehaving.fault = MALFORMED
    engine = engine_at(misbehaving.url)
    messages = set()
    for malformed in MALFORMED_CASES:
        misbehaving.malformed_events = ('{"choices": [{"text": " +"}]}', malformed)
        with pytest.raises(RemoteEngineError) as raised:
            list(engine.stream(REQUEST, threading.Event()))
        messages.add(str(raised.value))
    engine.close()
    assert len(messages) == 1, messages


def test_a_cancelled_request_does_not_wait_for_a_silent_server(
    misbehaving: MisbehavingServer,
) -> None:
    misbehaving.fault = SILENT
    engine = engine_at(misbehaving.url, timeout_seconds=10.0)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.perf_counter()
    with pytest.raises(CompletionCancelled):
        list(engine.stream(REQUEST, cancel))
    given_up = time.perf_counter() - started
    engine.close()
    print(f"cancelled after 0.2 s, given up after {given_up:.3f} s")
    assert given_up < 5.0  # the remoteTimeout is 10 s


@pytest.mark.parametrize(("host", "refused"), [("wrong.example", True), ("127.0.0.1", False)])
def test_a_certificate_for_another_host_is_refused_at_once(
    host: str, refused: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the test's authority trusted (httpx reads certifi's bundle), only the host name
    differs between the two cases."""
    authority = tmp_path / "authority.pem"
    server = MisbehavingServer(HEALTHY, tls=tls_context(tmp_path, host, trusted_by=authority))
    monkeypatch.setattr(certifi, "where", lambda: str(authority))
    engine = engine_at(server.url)
    try:
        if refused:
            with pytest.raises(RemoteEngineError, match=r"certificate .* refused \(.*mismatch"):
                list(engine.stream(REQUEST, threading.Event()))
            assert engine.connection_attempts == 1 and server.requests == 0
        else:
            assert "".join(engine.stream(REQUEST, threading.Event())) == " + b"
    finally:
        engine.close()
        server.close()


def test_retry_after_in_seconds_or_as_a_date_within_bounds() -> None:
    assert retry_after_seconds("5") == 5.0
    assert retry_after_seconds(None) == RETRY_AFTER_DEFAULT_S
    assert retry_after_seconds("soon") == RETRY_AFTER_DEFAULT_S
    assert retry_after_seconds("86400") == RETRY_AFTER_MAX_S
    assert retry_after_seconds("-3") == 0.0
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    assert 25 < retry_after_seconds(email.utils.format_datetime(later, usegmt=True)) <= 30


def test_lines_across_chunks_whatever_ends_them() -> None:
    chunks = [b"data: a\r", b"\ndata: b\n\nda", b"ta: c\rdata: \xc3", b"\xa9"]
    lines = [line for line in capped_lines(iter(chunks), 100) if line]
    assert lines == ["data: a", "data: b", "data: c", "data: \u00e9"]
    with pytest.raises(AnswerTooLong):
        list(capped_lines(iter([b"x" * 60, b"y" * 60]), 100))
