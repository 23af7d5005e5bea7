"""Engines that ask an inference server a team already runs (vLLM, SGLang, llama-server, Ollama).

Two wire formats: an OpenAI-compatible `/v1/completions` request whose prompt is the raw
fill-in-the-middle text (markers from `fim_templates`), and llama-server's `/infill`, which
builds the prompt itself. Both stream server-sent events over one HTTP response per request;
closing the generator, or setting the cancel event, closes that response and with it the
connection, so the server stops generating. Only failures to connect are retried (with
backoff): a request the server saw is never sent twice. TLS certificates are always verified.

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

import httpx

from engines.completion_engine import (
    CompletionCancelled,
    EngineDescription,
    EngineUnavailable,
    FimRequest,
    GenerationStats,
)
from engines.fim_templates import (
    FimTemplate,
    defuse_markers,
    split_at_line_start,
    template_named,
    text_prompt,
)

REMOTE_KINDS = ("openai", "infill")
# Without the server's vocabulary token counts are estimated. Measured with Qwen2.5-Coder's
# vocabulary on fimble's own Python files: 4.1 UTF-8 bytes per token overall, 3.3 for the
# densest file (short snippets can go lower). Counting 3 bytes as one token over-estimates
# whole files on purpose: prompts come out somewhat shorter than their budget, never longer.
BYTES_PER_TOKEN_ESTIMATE = 3


class RemoteEngineError(EngineUnavailable):
    """The server could not be reached or refused the request; the message says what to do."""


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


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream, up to `[DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # comments (": ping"), event names, blank separators
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if not data:
            continue
        payload = json.loads(data)
        if isinstance(payload, dict):
            yield payload


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
        timeout = httpx.Timeout(config.timeout_seconds, connect=min(config.timeout_seconds, 10.0))
        # verify=True is httpx's default; spelled out because it must never be switched off.
        self._client = httpx.Client(headers=headers, timeout=timeout, verify=True, trust_env=False)
        self._stats = GenerationStats()
        self.connection_attempts = 0
        endpoint = "/v1/completions" if config.kind == "openai" else "/infill"
        self._endpoint = self._base + endpoint
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

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def close(self) -> None:
        self._client.close()

    def request_body(self, request: FimRequest) -> dict[str, Any]:
        """The JSON body sent for `request` (public so that tests can read it)."""
        if self._config.kind == "openai":
            body: dict[str, Any] = {
                "prompt": text_prompt(self._template, request.prefix, request.suffix),
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
                {"filename": snippet.path, "text": snippet.text} for snippet in request.snippets
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
        prompt_text = request.prefix + request.suffix
        self._stats.prompt_tokens = estimate_tokens(defuse_markers(self._template, prompt_text))
        self._stats.evaluated_tokens = self._stats.prompt_tokens
        started = time.perf_counter()
        with self._open(request, cancel) as response:
            self._stats.prefill_seconds = time.perf_counter() - started
            decoding = time.perf_counter()
            watcher = _CancelWatcher(cancel, response)
            try:
                yield from self._pieces(response, cancel)
            except Exception as error:
                if cancel.is_set():  # whatever the closed stream raised, the cause is the cancel
                    self._stats.stop_reason = "cancelled"
                    raise CompletionCancelled() from error
                if isinstance(error, httpx.TimeoutException):
                    raise RemoteEngineError(
                        f"the server at {self._base} sent nothing for "
                        f"{self._config.timeout_seconds:g} s (remoteTimeout)"
                    ) from error
                if isinstance(error, (httpx.HTTPError, httpx.StreamError, ValueError)):
                    raise RemoteEngineError(
                        f"the server at {self._base} broke off the answer: {error}"
                    ) from error
                raise
            finally:
                watcher.stop()
                self._stats.decode_seconds = time.perf_counter() - decoding

    def _pieces(self, response: httpx.Response, cancel: threading.Event) -> Iterator[str]:
        self._stats.stop_reason = "end_of_stream"
        for event in _events(response.iter_lines()):
            if cancel.is_set():
                self._stats.stop_reason = "cancelled"
                raise CompletionCancelled()
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
        if self._config.kind == "openai":
            choices = event.get("choices") or [{}]
            choice = choices[0] if isinstance(choices[0], dict) else {}
            text = choice.get("text")
            return (text if isinstance(text, str) else ""), str(choice.get("finish_reason") or "")
        content = event.get("content")
        finished = bool(event.get("stop"))
        reason = str(event.get("stop_type") or "stop") if finished else ""
        return (content if isinstance(content, str) else ""), reason

    def _open(self, request: FimRequest, cancel: threading.Event) -> _OpenResponse:
        body = self.request_body(request)
        attempt = 0
        while True:
            if cancel.is_set():
                self._stats.stop_reason = "cancelled"
                raise CompletionCancelled()
            attempt += 1
            self.connection_attempts += 1
            try:
                response = self._client.send(
                    self._client.build_request("POST", self._endpoint, json=body), stream=True
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if attempt > self._config.connect_retries:
                    raise RemoteEngineError(
                        f"cannot connect to {self._base} ({error}); tried {attempt} times. Is "
                        "the server running, and is remoteUrl right?"
                    ) from error
                delay = self._config.backoff_seconds * 2 ** (attempt - 1)
                if cancel.wait(delay):
                    self._stats.stop_reason = "cancelled"
                    raise CompletionCancelled() from error
                continue
            except httpx.TimeoutException as error:
                raise RemoteEngineError(
                    f"the server at {self._base} did not answer within "
                    f"{self._config.timeout_seconds:g} s (remoteTimeout)"
                ) from error
            if response.status_code != 200:
                detail = response.read().decode("utf-8", errors="replace")[:300]
                response.close()
                hint = " Check remoteApiKeyEnv." if response.status_code in (401, 403) else ""
                raise RemoteEngineError(
                    f"{self._endpoint} answered HTTP {response.status_code}: {detail}{hint}"
                )
            return _OpenResponse(response)


class _OpenResponse:
    """Closes the streamed response however the consumer leaves (the connection goes too)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __enter__(self) -> httpx.Response:
        return self.response

    def __exit__(self, *exc: object) -> None:
        self.response.close()


class _CancelWatcher:
    """Closes the response as soon as `cancel` is set, even while a read is blocked.

    Between events the stream checks the flag itself; this covers the wait for the first
    token (the server's prefill), which can take seconds.
    """

    def __init__(self, cancel: threading.Event, response: httpx.Response) -> None:
        self._cancel = cancel
        self._response = response
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fimble-cancel", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._cancel.wait(0.05):
                if not self._done.is_set():
                    self._response.close()
                return

    def stop(self) -> None:
        self._done.set()
