"""The HTTP side of the remote engines, written for servers that fail.

`ServerConnection.lines` sends one request body and yields the streamed answer's lines.
What a failing server can do to fimble is bounded here, so that the engine above only reads
its wire format:
- no network wait happens on the caller's thread: each answer is read by a thread of its
  own, so a cancelled request is given up at once (a blocked read cannot be interrupted:
  that reader ends within remoteTimeout, and once the response has begun its socket is shut
  down, which also tells the server to stop generating);
- an answer is read up to the caller's byte limit, an error body up to a few hundred bytes;
- after HTTP 429 or 503 nothing is sent until the server's Retry-After has passed (at most
  ten minutes): meanwhile each request fails at once, with the same message;
- only failures to connect are retried: never a certificate that does not verify, never a
  request the server saw.
Every failure is a `RemoteEngineError` whose message is the same for the same fault, so that
the editor shows it once, not once per keystroke.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import certifi
import httpx

from engines.completion_engine import CompletionCancelled, EngineUnavailable

logger = logging.getLogger("fimble.remote")

ERROR_DETAIL_BYTES = 300
RETRY_AFTER_DEFAULT_S = 1.0  # a 429 or 503 without a readable Retry-After
RETRY_AFTER_MAX_S = 600.0
WAIT_STATUSES = (429, 503)
POLL_S = 0.05  # how often a waiting caller looks at its cancel event


class RemoteEngineError(EngineUnavailable):
    """The server could not be reached or refused the request; the message says what to do."""


class AnswerTooLong(Exception):
    """The answer grew past the byte limit its caller set."""


class ServerConnection:
    """One inference server's endpoint: an HTTP client, and what the server asked for."""

    def __init__(
        self,
        server: str,
        endpoint: str,
        headers: dict[str, str],
        timeout_seconds: float,
        connect_retries: int,
        backoff_seconds: float,
        ca_file: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.connection_attempts = 0
        self._timeout_seconds = timeout_seconds
        self._connect_retries = connect_retries
        self._backoff_seconds = backoff_seconds
        self._server = server  # for messages: the base URL the user configured
        timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
        # Certificates are always verified: against the public authorities and `ca_file`'s.
        self._client = httpx.Client(
            headers={**headers, "Accept-Encoding": "identity"},
            timeout=timeout,
            verify=trusted_authorities(ca_file),
            trust_env=False,
        )
        self._waiting: tuple[float, str] | None = None  # (until, message) after 429/503

    def close(self) -> None:
        self._client.close()

    def lines(
        self, body: dict[str, Any], byte_limit: int, cancel: threading.Event
    ) -> Generator[str, None, None]:
        """The lines of the streamed answer to `body`; raises RemoteEngineError, or
        CompletionCancelled once `cancel` is set."""
        if self._waiting is not None:
            resume_at, message = self._waiting
            if time.monotonic() < resume_at:
                raise RemoteEngineError(message)
            self._waiting = None
        reader = _Reader(lambda stop: self._send(body, stop), byte_limit)
        try:
            while True:
                item = reader.next_item(cancel)
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise self._explained(item)
                yield item
        finally:
            reader.stop()

    def _send(self, body: dict[str, Any], stop: threading.Event) -> httpx.Response:
        """The response to `body` once its status is 200; connection failures retried."""
        attempt = 0
        while True:
            attempt += 1
            self.connection_attempts += 1
            try:
                request = self._client.build_request("POST", self.endpoint, json=body)
                response = self._client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                refused = certificate_problem(error)
                last = refused is not None or attempt > self._connect_retries
                if last or stop.wait(self._backoff_seconds * 2 ** (attempt - 1)):
                    raise self._unreachable(error, attempt, refused) from error
                continue
            if response.status_code == 200:
                return response
            raise self._refused(response)

    def _unreachable(
        self, error: Exception, attempts: int, refused_certificate: str | None
    ) -> RemoteEngineError:
        if refused_certificate is not None:
            return RemoteEngineError(
                f"the TLS certificate of {self._server} was refused ({refused_certificate}); "
                "nothing was sent. remoteUrl must name a host the certificate is for, signed "
                "by a public certificate authority or by one in remoteCaFile (a team's own)."
            )
        return RemoteEngineError(
            f"cannot connect to {self._server} ({error}); tried {attempts} times. Is the "
            "server running, and is remoteUrl right?"
        )

    def _refused(self, response: httpx.Response) -> RemoteEngineError:
        """The error for a response other than 200 (which it closes), remembering how long
        a server that is overloaded asked fimble to wait."""
        detail = _first_bytes(response, ERROR_DETAIL_BYTES).decode("utf-8", errors="replace")
        status = response.status_code
        # The body only at DEBUG: a server may echo the prompt in it, and a body that changes
        # on every request (an id) would make each keystroke's message a new one.
        logger.debug("%s answered HTTP %d: %s", self.endpoint, status, detail)
        hint = " Check remoteApiKeyEnv." if status in (401, 403) else ""
        message = (
            f"{self.endpoint} answered HTTP {status}; its answer is in the log at DEBUG "
            f"level.{hint}"
        )
        if status in WAIT_STATUSES:
            message = (
                f"{self.endpoint} answered HTTP {status} (overloaded): fimble sends it nothing "
                "until the time it asked for (Retry-After) has passed, and suggests nothing "
                "meanwhile."
            )
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            self._waiting = (time.monotonic() + wait, message)
        return RemoteEngineError(message)

    def _explained(self, error: BaseException) -> BaseException:
        """What the caller is told of an error the reader met."""
        if isinstance(error, httpx.TimeoutException):
            return RemoteEngineError(
                f"the server at {self._server} sent nothing for "
                f"{self._timeout_seconds:g} s (remoteTimeout)"
            )
        if isinstance(error, AnswerTooLong):
            return RemoteEngineError(
                f"the server at {self._server} sent an answer far longer than the max_tokens "
                "asked for; it was dropped. Does the server honour max_tokens?"
            )
        if isinstance(error, (httpx.HTTPError, httpx.StreamError)):
            return RemoteEngineError(f"the server at {self._server} broke off the answer: {error}")
        return error


class _Reader:
    """Reads one answer on a thread of its own into a queue: lines, then None or an error."""

    def __init__(self, send: Callable[[threading.Event], httpx.Response], byte_limit: int):
        self._items: queue.SimpleQueue[str | BaseException | None] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._response: httpx.Response | None = None
        thread = threading.Thread(
            target=self._read, args=(send, byte_limit), name="fimble-remote", daemon=True
        )
        thread.start()

    def next_item(self, cancel: threading.Event) -> str | BaseException | None:
        while True:
            try:
                item = self._items.get(timeout=POLL_S)
            except queue.Empty:
                item = ""  # no line yet: look at `cancel` again
            if cancel.is_set():
                raise CompletionCancelled()
            if item != "":
                return item

    def stop(self) -> None:
        """Nobody reads on: end the reader, and the connection with it where it can be."""
        self._stopped.set()
        if self._response is not None:
            _shut_down(self._response)

    def _read(self, send: Callable[[threading.Event], httpx.Response], byte_limit: int) -> None:
        try:
            response = self._response = send(self._stopped)
            with contextlib.closing(response):
                if self._stopped.is_set():  # before `stop` could shut its socket down
                    return
                for line in capped_lines(response.iter_bytes(), byte_limit):
                    if self._stopped.is_set():
                        return
                    if line:  # blank lines separate events; "" means "nothing yet" below
                        self._items.put(line)
            self._items.put(None)
        except Exception as error:  # handed to the caller, who explains it
            self._items.put(error)


def capped_lines(chunks: Iterator[bytes], byte_limit: int) -> Iterator[str]:
    """The decoded lines of a body, whichever line ends it uses; raises AnswerTooLong once
    more than `byte_limit` bytes arrived (so one endless line cannot fill the memory)."""
    pending = b""
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > byte_limit:
            raise AnswerTooLong()
        lines = (pending + chunk).splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
        for line in lines:
            yield line.rstrip(b"\r\n").decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def trusted_authorities(ca_file: str) -> ssl.SSLContext:
    """A TLS context that verifies servers against the public certificate authorities (the
    ones httpx trusts by default) plus those of the PEM file `ca_file`, where given (a team's
    internal authority); raises RemoteEngineError if that file cannot be loaded."""
    context = ssl.create_default_context(cafile=certifi.where())
    if not ca_file:
        return context
    try:
        context.load_verify_locations(cafile=os.path.expanduser(ca_file))
    except (OSError, ssl.SSLError, ValueError) as error:
        raise RemoteEngineError(
            f"remoteCaFile {ca_file} could not be loaded ({error}); it must be a PEM file of "
            "certificate authority certificates."
        ) from error
    return context


def retry_after_seconds(value: str | None) -> float:
    """The wait a Retry-After header asks for (seconds or an HTTP date), within bounds."""
    try:
        seconds = float(int(value or ""))
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value or "").timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = RETRY_AFTER_DEFAULT_S
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


def certificate_problem(error: BaseException) -> str | None:
    """Why the server's TLS certificate failed verification, if that is what `error` is."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message or cause)
        cause = cause.__cause__ or cause.__context__
    return None


def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body; the response is closed."""
    received = b""
    with contextlib.closing(response):
        for chunk in response.iter_bytes():
            received += chunk
            if len(received) >= limit:
                break
    return received[:limit]


def _shut_down(response: httpx.Response) -> None:
    """Shut the response's socket: a read blocked on it returns, and the server sees the
    connection end (closing the response alone would wait for that read)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
