"""Remote engines against a real OpenAI-compatible server: llama-cpp-python's own.

The test starts `llama_cpp.server` on a loopback port serving the default model (with an API
key, so that authentication is exercised), then completes through `fimble serve` configured
with the `openai` engine, and drives the engine directly for cancellation and retries. The
server logs each client that goes away mid-stream ("Disconnected from client"): that line is
how the tests see that fimble closed the HTTP stream.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pytest_lsp import LanguageClient

from engines.completion_engine import CompletionCancelled, FimRequest
from engines.model_files import assemble_embedded_model
from engines.remote_engine import RemoteEngine, RemoteEngineConfig, RemoteEngineError
from tests.e2e.conftest import ROOT, StartServer, inline_at, only_text, open_document

pytestmark = pytest.mark.model

API_KEY = "fimble-test-key"
KEY_ENV = "FIMBLE_TEST_REMOTE_KEY"
DISCONNECTED = "Disconnected from client"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LlamaCppServer:
    url: str
    log: Path

    def disconnects(self) -> int:
        return self.log.read_text(errors="replace").count(DISCONNECTED)

    def wait_for_disconnects(self, count: int) -> int:
        """The disconnect count once it reaches `count` (or what it is after a generous wait)."""
        for _ in range(600):
            if self.disconnects() >= count:
                break
            time.sleep(0.05)
        return self.disconnects()


@pytest.fixture(scope="module")
def llama_cpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppServer]:
    port = free_port()
    log = tmp_path_factory.mktemp("llama-cpp-server") / "server.log"
    command = [
        sys.executable,
        str(ROOT / "tests" / "e2e" / "llama_cpp_server_main.py"),
        "--model",
        str(assemble_embedded_model()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        "2",
        "--api_key",
        API_KEY,
        "--verbose",
        "False",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/v1/models", timeout=1).status_code in (200, 401):
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("llama_cpp.server did not start")
        yield LlamaCppServer(url, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, API_KEY)


def engine_for(url: str, **overrides: object) -> RemoteEngine:
    config = RemoteEngineConfig(kind="openai", url=url, api_key_env=KEY_ENV, timeout_seconds=120)
    return RemoteEngine(RemoteEngineConfig(**{**config.__dict__, **overrides}))  # type: ignore[arg-type]


LONG_REQUEST = FimRequest("# A long list of prime numbers, one per line\nprimes = [\n", "", 96)


async def test_completes_through_the_lsp(
    llama_cpp_server: LlamaCppServer, start_server: StartServer
) -> None:
    client: LanguageClient = await start_server(
        {
            "engine": "openai",
            "remoteUrl": llama_cpp_server.url,
            "remoteApiKeyEnv": KEY_ENV,
            "remoteTimeout": 120,
        },
        env={**os.environ, KEY_ENV: API_KEY},
    )
    uri = "file:///work/remote_add.py"
    text = "def add(a, b):\n    return a\n\n\nprint(add(2, 3))\n"
    open_document(client, uri, text)
    suggestion = only_text(await inline_at(client, uri, 1, len("    return a")))
    assert suggestion.replace(" ", "").startswith("+b"), suggestion
    stats = await client.protocol.send_request_async("fimble/stats", {})
    assert stats.generated_tokens > 0
    assert stats.prompt_tokens > 0


async def test_missing_api_key_is_reported_and_answered_empty(
    llama_cpp_server: LlamaCppServer, start_server: StartServer
) -> None:
    env = {name: value for name, value in os.environ.items() if name != KEY_ENV}
    client: LanguageClient = await start_server(
        {"engine": "openai", "remoteUrl": llama_cpp_server.url, "remoteApiKeyEnv": KEY_ENV},
        env=env,
    )
    uri = "file:///work/remote_nokey.py"
    open_document(client, uri, "def add(a, b):\n    return a\n")
    result = await inline_at(client, uri, 1, len("    return a"))
    assert not result.items
    messages = [str(message.message) for message in client.messages]
    assert any(KEY_ENV in message and "not set" in message for message in messages), messages


def test_a_wrong_key_is_refused_without_retry(llama_cpp_server: LlamaCppServer) -> None:
    os.environ["FIMBLE_TEST_WRONG_KEY"] = "wrong"
    try:
        engine = engine_for(llama_cpp_server.url, api_key_env="FIMBLE_TEST_WRONG_KEY")
        with pytest.raises(RemoteEngineError, match="HTTP 401"):
            list(engine.stream(FimRequest("x = ", "", 4), threading.Event()))
        assert engine.connection_attempts == 1
        engine.close()
    finally:
        del os.environ["FIMBLE_TEST_WRONG_KEY"]


def test_closing_the_stream_closes_the_connection(
    llama_cpp_server: LlamaCppServer, api_key: None
) -> None:
    engine = engine_for(llama_cpp_server.url)
    before = llama_cpp_server.disconnects()
    stream = engine.stream(LONG_REQUEST, threading.Event())
    first = next(stream)
    assert first
    stream.close()
    assert engine.last_stats.generated_tokens == 1
    assert llama_cpp_server.wait_for_disconnects(before + 1) == before + 1
    engine.close()


def test_cancel_event_closes_the_connection(
    llama_cpp_server: LlamaCppServer, api_key: None
) -> None:
    engine = engine_for(llama_cpp_server.url)
    before = llama_cpp_server.disconnects()
    cancel = threading.Event()
    pieces: list[str] = []
    with pytest.raises(CompletionCancelled):
        for piece in engine.stream(LONG_REQUEST, cancel):
            pieces.append(piece)
            if len(pieces) == 3:
                cancel.set()
    assert len(pieces) == 3
    assert engine.last_stats.stop_reason == "cancelled"
    assert llama_cpp_server.wait_for_disconnects(before + 1) == before + 1
    engine.close()


class LateRelay:
    """A TCP relay to the real server that starts listening only after `delay` seconds."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.port = free_port()
        self._target = target_port
        self._stop = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._run, args=(delay,), daemon=True)
        self._thread.start()

    def _run(self, delay: float) -> None:
        time.sleep(delay)
        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen()
            listener.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                self.accepted += 1
                upstream = socket.create_connection(("127.0.0.1", self._target))
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for each in (source, sink):
            with contextlib.suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)


def test_connection_errors_are_retried_with_backoff(
    llama_cpp_server: LlamaCppServer, api_key: None
) -> None:
    target = int(llama_cpp_server.url.rsplit(":", 1)[1])
    # Backoff 0.25 + 0.5 + 1 + 2 s over four retries: the relay is up long before the last.
    relay = LateRelay(target, delay=0.6)
    engine = engine_for(f"http://127.0.0.1:{relay.port}", connect_retries=4)
    try:
        text = "".join(engine.stream(FimRequest("x = 1\ny = ", "", 4), threading.Event()))
    finally:
        relay.stop()
        engine.close()
    assert text
    assert engine.connection_attempts >= 2
    assert relay.accepted == 1


def test_gives_up_after_the_retries_with_a_clear_message(api_key: None) -> None:
    engine = engine_for(f"http://127.0.0.1:{free_port()}", connect_retries=2, backoff_seconds=0.01)
    with pytest.raises(RemoteEngineError, match=r"cannot connect.*tried 3 times"):
        list(engine.stream(FimRequest("x = ", "", 4), threading.Event()))
    assert engine.connection_attempts == 3
    engine.close()
