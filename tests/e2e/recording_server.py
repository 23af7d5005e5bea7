"""A stand-in for an OpenAI-compatible inference server that keeps every request it gets.

Privacy tests point fimble's `openai` or `infill` engine at it and then read what left the
editor's machine: every request body, in order. It answers each `/v1/completions` (OpenAI
shape) and `/infill` (llama-server shape, which also carries the cross-file snippets) request
with one short streamed suggestion.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SUGGESTION = "result = 1"


class RecordingServer:
    """The bodies received so far (JSON text, as sent) and the base URL to configure."""

    def __init__(self) -> None:
        self._bodies: list[str] = []
        self._lock = threading.Lock()
        self.url = ""

    def record(self, body: str) -> None:
        with self._lock:
            self._bodies.append(body)

    @property
    def bodies(self) -> list[str]:
        with self._lock:
            return list(self._bodies)

    def received(self, text: str) -> bool:
        """Whether `text` went out in any request (JSON-escaped as it travels)."""
        escaped = json.dumps(text)[1:-1]
        return any(escaped in body for body in self.bodies)

    def settings(self, engine: str = "openai", **more: Any) -> dict[str, Any]:
        """fimble settings that send prompts here."""
        return {"engine": engine, "remoteUrl": self.url, "remoteTimeout": 10, **more}


def _events(path: str) -> list[dict[str, Any]]:
    if path == "/infill":
        return [
            {"content": SUGGESTION, "stop": False},
            {"content": "", "stop": True, "stop_type": "eos"},
        ]
    return [
        {"choices": [{"text": SUGGESTION, "finish_reason": None}]},
        {"choices": [{"text": "", "finish_reason": "stop"}]},
    ]


def _handler(server: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            server.record(self.rfile.read(length).decode("utf-8", errors="replace"))
            self.send_response(200 if self.path in ("/v1/completions", "/infill") else 404)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for event in _events(self.path):
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def recording_server() -> Iterator[RecordingServer]:
    recorder = RecordingServer()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    recorder.url = f"http://127.0.0.1:{http.server_address[1]}"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        http.shutdown()
        http.server_close()
