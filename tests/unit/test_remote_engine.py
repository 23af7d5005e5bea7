"""Remote engine requests and parsing (the streaming itself is tested against a real server).

llama-cpp-python's server has no `/infill`, so the `/infill` engine's wire format is checked
here against a loopback stub that answers the way llama-server documents its streamed
events; the OpenAI path runs against a real server in tests/e2e/test_remote_engine.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engines.completion_engine import ContextSnippet, FimRequest
from engines.fim_templates import FIM_TEMPLATES, template_named, text_prompt
from engines.remote_engine import (
    RemoteEngine,
    RemoteEngineConfig,
    RemoteEngineError,
    estimate_tokens,
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
