"""Engines that ask an inference server a team already runs (vLLM, SGLang, llama-server, Ollama).

Two wire formats: an OpenAI-compatible `/v1/completions` request whose prompt is the raw
fill-in-the-middle text (markers from `fim_templates`), and llama-server's `/infill`, which
builds the prompt itself. Both stream server-sent events over one HTTP response per request;
closing the generator, or setting the cancel event, ends that response and with it the
connection, so the server stops generating. How a failing server is survived (retries,
Retry-After, limits on what is read, TLS) is `server_connection`'s part; this module reads
the wire formats, and drops an answer whose events are not what the format says.

This is the one place where fimble talks to another machine, and only when the settings name
a server: the default engine is in-process.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engines.completion_engine import (
    CompletionCancelled,
    EngineDescription,
    FimRequest,
    GenerationStats,
)
from engines.fim_templates import (
    FimTemplate,
    snippet_text,
    split_at_line_start,
    template_named,
    text_prompt,
)
from engines.server_connection import RemoteEngineError as RemoteEngineError  # re-exported
from engines.server_connection import ServerConnection

REMOTE_KINDS = ("openai", "infill")
# Without the server's vocabulary token counts are estimated. Measured with Qwen2.5-Coder's
# vocabulary on fimble's own Python files: 4.1 UTF-8 bytes per token overall, 3.3 for the
# densest file (short snippets can go lower). Counting 3 bytes as one token over-estimates
# whole files on purpose: prompts come out somewhat shorter than their budget, never longer.
BYTES_PER_TOKEN_ESTIMATE = 3
# What an answer may weigh before it is dropped as broken: one event per token of a few
# hundred bytes, a final event that may repeat the prompt (llama-server), and ample room.
ANSWER_BYTES_BASE = 1024 * 1024
ANSWER_BYTES_PER_TOKEN = 4096


class MalformedEvent(ValueError):
    """An event that is not what the wire format says."""


@dataclass(frozen=True)
class RemoteEngineConfig:
    kind: str  # one of REMOTE_KINDS
    url: str  # base URL, e.g. http://127.0.0.1:8080 (the endpoint path is appended)
    model: str = ""
    fim_template: str = "qwen"
    api_key_env: str = ""
    timeout_seconds: float = 30.0
    connect_retries: int = 3
    backoff_seconds: float = 0.25
    ca_file: str = ""  # PEM certificate authorities trusted besides the public ones


def estimate_tokens(text: str) -> int:
    """A deliberately high token count for `text` without the server's vocabulary."""
    return math.ceil(len(text.encode("utf-8", errors="surrogatepass")) / BYTES_PER_TOKEN_ESTIMATE)


def check_base_url(url: str) -> str:
    """The URL without a trailing slash; raises RemoteEngineError if it cannot be used."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteEngineError(
            f"remoteUrl must be an http:// or https:// URL with a host, got {url!r} "
            "(e.g. http://127.0.0.1:8080 or https://inference.example.com)."
        )
    return url.rstrip("/")


def _api_key(env_name: str) -> str | None:
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if not value:
        raise RemoteEngineError(
            f"remoteApiKeyEnv names the environment variable {env_name}, which is not set in "
            "the server's environment. Set it where the editor starts fimble, or clear the "
            "setting for a server without authentication."
        )
    return value


def answer_byte_limit(max_tokens: int) -> int:
    """The most bytes read of an answer of at most `max_tokens` tokens."""
    return ANSWER_BYTES_BASE + max(max_tokens, 0) * ANSWER_BYTES_PER_TOKEN


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a server-sent event stream, up to `[DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # comments (": ping"), event names, blank separators
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if not data:
            continue
        try:
            payload = json.loads(data)
        except ValueError as error:
            raise MalformedEvent("not JSON") from error
        if not isinstance(payload, dict):
            raise MalformedEvent("not a JSON object")
        yield payload


def _text_field(value: object) -> str:
    """A text field of an event: a string, or absent (None)."""
    if value is None or isinstance(value, str):
        return value or ""
    raise MalformedEvent("a text field that is not a string")


def _code_sent(body: dict[str, Any]) -> str:
    """The text a request body asks the server to read: the prompt, or /infill's parts."""
    if "input_prefix" not in body:
        return str(body["prompt"])
    extra = "".join(f"{item['filename']}\n{item['text']}" for item in body["input_extra"])
    return f"{extra}{body['input_prefix']}{body['input_suffix']}{body['prompt']}"


class RemoteEngine:
    """A `CompletionEngine` that streams suggestions from an HTTP inference server."""

    def __init__(self, config: RemoteEngineConfig) -> None:
        if config.kind not in REMOTE_KINDS:
            raise RemoteEngineError(
                f"Unknown remote engine kind {config.kind!r}; known: {', '.join(REMOTE_KINDS)}."
            )
        self._config = config
        self._base = check_base_url(config.url)
        self._template: FimTemplate = template_named(config.fim_template or "qwen")
        headers = {"Accept": "text/event-stream"}
        key = _api_key(config.api_key_env)
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        self._stats = GenerationStats()
        endpoint = "/v1/completions" if config.kind == "openai" else "/infill"
        self._endpoint = self._base + endpoint
        self._server = ServerConnection(
            self._base,
            self._endpoint,
            headers,
            config.timeout_seconds,
            config.connect_retries,
            config.backoff_seconds,
            config.ca_file,
        )
        self._description = EngineDescription(
            model_path=f"{self._endpoint} ({config.model or 'server default model'})",
            fim_template=self._template.name if config.kind == "openai" else "server (/infill)",
            details={
                "engine": f"remote {config.kind}",
                "server": self._base,
                "remote_model": config.model or "(server default)",
                "api_key": f"from ${config.api_key_env}" if config.api_key_env else "none",
                "timeout_seconds": f"{config.timeout_seconds:g}",
                "token_counts": f"estimated ({BYTES_PER_TOKEN_ESTIMATE} bytes per token)",
            },
        )

    @property
    def description(self) -> EngineDescription:
        return self._description

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    @property
    def model_file(self) -> Path | None:
        return None

    @property
    def connection_attempts(self) -> int:
        return self._server.connection_attempts

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def close(self) -> None:
        self._server.close()

    def request_body(self, request: FimRequest) -> dict[str, Any]:
        """The JSON body sent for `request` (public so that tests can read it)."""
        if self._config.kind == "openai":
            body: dict[str, Any] = {
                "prompt": text_prompt(
                    self._template,
                    request.prefix,
                    request.suffix,
                    request.snippets,
                    request.file_path,
                    request.repo_name,
                ),
                "max_tokens": request.max_tokens,
                "temperature": 0.0,
                "stream": True,
                "stop": list(self._stop_texts()),
            }
            if self._config.model:
                body["model"] = self._config.model
            return body
        above, typed = split_at_line_start(request.prefix, self._template)
        return {
            "input_prefix": above,
            "input_suffix": request.suffix,
            "input_extra": [
                {"filename": snippet.path, "text": snippet_text(snippet)}
                for snippet in request.snippets
            ],
            "prompt": typed,  # llama-server puts it after the middle marker
            "n_predict": request.max_tokens,
            "temperature": 0.0,
            "samplers": ["top_k", "top_p", "infill"],
            "top_k": 1,
            "cache_prompt": True,
            "stream": True,
        }

    def _stop_texts(self) -> tuple[str, ...]:
        stops = [m.replace("▁", " ").strip() for m in self._template.stop_markers]
        # OpenAI-style servers accept at most four stop strings.
        return tuple(dict.fromkeys(stop for stop in stops if stop))[:4]

    def pending_tokens(self, request: FimRequest) -> int:
        return 0  # the server's own cache decides; nothing to plan from here

    def prefill(self, request: FimRequest, cancel: threading.Event) -> None:
        """Nothing to prepare: the server keeps its own prompt cache."""

    def prefill_run(
        self, request: FimRequest, cancel: threading.Event, limit_tokens: int | None = None
    ) -> int:
        return 0  # no document runs on a server

    def run_pending(self, request: FimRequest) -> int:
        return 0

    def stream(self, request: FimRequest, cancel: threading.Event) -> Generator[str, None, None]:
        self._stats = GenerationStats()
        if request.avoid_start:
            # A server's sampler cannot be steered token by token from here, and asking
            # again would only repeat the first answer: no second opinion.
            self._stats.stop_reason = "cannot_avoid"
            return
        body = self.request_body(request)
        self._stats.prompt_tokens = estimate_tokens(_code_sent(body))
        self._stats.evaluated_tokens = self._stats.prompt_tokens
        started = time.perf_counter()
        lines = self._server.lines(body, answer_byte_limit(request.max_tokens), cancel)
        try:
            yield from self._pieces(_events(lines), started)
        except CompletionCancelled:
            self._stats.stop_reason = "cancelled"
            raise
        except MalformedEvent as error:
            raise RemoteEngineError(
                f"the server at {self._base} sent events that are not {self._config.kind} "
                "completions; its answers are dropped. Is remoteUrl a server of that kind?"
            ) from error
        finally:
            lines.close()  # the connection ends with it
            if self._stats.prefill_seconds:
                self._stats.decode_seconds = (
                    time.perf_counter() - started - self._stats.prefill_seconds
                )

    def _pieces(self, events: Iterator[dict[str, Any]], started: float) -> Iterator[str]:
        self._stats.stop_reason = "end_of_stream"
        for event in events:
            if not self._stats.prefill_seconds:  # the server's prompt evaluation, roughly
                self._stats.prefill_seconds = time.perf_counter() - started
            text, finish = self._parse(event)
            if text:
                self._stats.generated_tokens += 1  # one event per token on these servers
                self._stats.stop_reason = "consumer"
                yield text
                self._stats.stop_reason = "end_of_stream"
            if finish:
                self._stats.stop_reason = finish
                return

    def _parse(self, event: dict[str, Any]) -> tuple[str, str]:
        """(text, finish reason or "") of one streamed event."""
        if "error" in event:
            raise RemoteEngineError(f"the server at {self._base} reported: {event['error']}")
        if self._config.kind == "infill":
            finished = bool(event.get("stop"))
            reason = (_text_field(event.get("stop_type")) or "stop") if finished else ""
            return _text_field(event.get("content")), reason
        choices = event.get("choices") or []
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise MalformedEvent("choices that are not a list of objects")
        choice = choices[0] if choices else {}  # none: a usage-only event
        return _text_field(choice.get("text")), _text_field(choice.get("finish_reason"))
