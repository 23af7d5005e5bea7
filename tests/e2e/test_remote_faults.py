"""Remote servers that fail, through `fimble serve`: every fault ends in an empty answer.

Each test points the `openai` engine at a loopback server that fails on purpose
(misbehaving_server.py), types five keystrokes that each ask for a suggestion while the fault
lasts, then makes the server healthy and asks again. What an editor user must see: an empty
answer within remoteTimeout (+1 s), one message (not one per keystroke), no request the
server did not need (no retries, nothing before Retry-After), and a suggestion again as soon
as the server answers. No model is loaded: the cache directory stays empty.

Times are checked only against a generous guard (remoteTimeout + 5 s): the measured figures
are printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document
from tests.e2e.misbehaving_server import (
    HEALTHY,
    HTTP_500,
    HUGE,
    MALFORMED,
    RATE_LIMITED,
    SILENT,
    TRUNCATED,
    MisbehavingServer,
    tls_context,
)

pytestmark = pytest.mark.loads_no_model

REMOTE_TIMEOUT = 1
SILENT_REMOTE_TIMEOUT = 3  # long enough that waiting for it cannot pass for giving up at once
GUARD_S = 5  # added to remoteTimeout: a guard against hangs, not the target (+1 s)
URI = "file:///work/remote_faults.py"
DOCUMENT = "def add(a, b):\n    return a\n\n\nprint(add(2, 3))\n"
TYPED = "x = 1"  # on the empty line 3, one keystroke at a time
KEYSTROKES = len(TYPED)

StartFimble = Callable[[MisbehavingServer, int], Awaitable[LanguageClient]]


@pytest.fixture
async def start_fimble(start_server: StartServer, tmp_path: Path) -> AsyncIterator[StartFimble]:
    """`fimble serve` using the server's address, the document open; no model appears."""
    cache = tmp_path / "model-cache"
    cache.mkdir()

    async def start(server: MisbehavingServer, remote_timeout: int) -> LanguageClient:
        env = {**os.environ, "FIMBLE_CACHE_DIR": str(cache)}
        client = await start_server(server.settings(remote_timeout), env=env)
        open_document(client, URI, DOCUMENT)
        return client

    yield start
    assert list(cache.iterdir()) == []


def type_key(client: LanguageClient, index: int) -> None:
    """The user types TYPED[index] on line 3."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=index + 2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(3, index), types.Position(3, index)),
                    text=TYPED[index],
                )
            ],
        )
    )


async def timed_keystroke(client: LanguageClient, index: int) -> tuple[float, bool]:
    """(seconds to the answer, whether it was empty) for one keystroke's automatic request."""
    type_key(client, index)
    started = time.perf_counter()
    result = await inline_at(client, URI, 3, index + 1, types.InlineCompletionTriggerKind.Automatic)
    return time.perf_counter() - started, not result.items


async def suggestion_after_recovery(client: LanguageClient, server: MisbehavingServer) -> str:
    server.fault = HEALTHY
    return only_text(await inline_at(client, URI, 1, len("    return a")))


async def until(condition: Callable[[], bool]) -> None:
    """Poll `condition` for up to 10 s (the fake server counts on its own threads)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.02)


def messages_shown(client: LanguageClient) -> list[str]:
    return [str(message.message) for message in client.messages]


def report(fault: str, seconds: list[float], client: LanguageClient) -> None:
    figures = ", ".join(f"{s:.3f}" for s in seconds)
    print(f"\n{fault}: answered in [{figures}] s; messages: {messages_shown(client)}")


async def keystrokes_answered_empty_with_one_message(client: LanguageClient, fault: str) -> None:
    """KEYSTROKES keystrokes during `fault`: each answered empty, in time, one message."""
    answers = [await timed_keystroke(client, index) for index in range(KEYSTROKES)]
    report(fault, [seconds for seconds, _ in answers], client)
    assert all(empty for _, empty in answers)
    assert all(seconds < REMOTE_TIMEOUT + GUARD_S for seconds, _ in answers)
    assert len(messages_shown(client)) == 1


@pytest.mark.parametrize("fault", [HTTP_500, TRUNCATED, MALFORMED, HUGE])
async def test_a_failing_server_gets_empty_answers_one_message_and_recovery(
    fault: str, start_fimble: StartFimble
) -> None:
    server = MisbehavingServer(fault)
    try:
        client = await start_fimble(server, REMOTE_TIMEOUT)
        await keystrokes_answered_empty_with_one_message(client, fault)
        assert "CUDA" not in messages_shown(client)[0]  # the body only in the DEBUG log
        assert server.requests == KEYSTROKES  # one each: nothing retried
        assert (await suggestion_after_recovery(client, server)).startswith(" + b")
    finally:
        server.close()


async def test_rate_limited_sends_nothing_before_retry_after(start_fimble: StartFimble) -> None:
    server = MisbehavingServer(RATE_LIMITED)
    try:
        client = await start_fimble(server, REMOTE_TIMEOUT)
        await keystrokes_answered_empty_with_one_message(client, RATE_LIMITED)
        assert server.requests == 1
        server.fault = HEALTHY
        early = await inline_at(client, URI, 1, len("    return a"))
        assert not early.items and server.requests == 1  # healthy, but it asked to wait
        resume_at = server.last_request_at + server.retry_after + 0.1  # as fimble received it
        await asyncio.sleep(max(0.0, resume_at - time.monotonic()))
        assert (await suggestion_after_recovery(client, server)).startswith(" + b")
        assert len(messages_shown(client)) == 1
    finally:
        server.close()


async def test_a_silent_server_does_not_hold_up_the_next_keystroke(
    start_fimble: StartFimble,
) -> None:
    """Fast typing against a server that accepts and never answers: each keystroke's request
    supersedes the previous one, which is given up at once instead of waiting remoteTimeout
    for an answer that cannot come (before: the last waited for the first, twice as long)."""
    server = MisbehavingServer(SILENT)
    try:
        client = await start_fimble(server, SILENT_REMOTE_TIMEOUT)
        started = time.perf_counter()
        pending = [asyncio.create_task(timed_keystroke(client, 0))]
        await until(lambda: server.requests == 1)  # the first one waits on the server
        for index in range(1, KEYSTROKES):
            pending.append(asyncio.create_task(timed_keystroke(client, index)))
            await asyncio.sleep(0.05)  # a fast typist
        answers = await asyncio.gather(*pending)
        total = time.perf_counter() - started
        report(SILENT, [seconds for seconds, _ in answers], client)
        print(f"{SILENT}: all {KEYSTROKES} answered after {total:.3f} s")
        assert all(empty for _, empty in answers)
        superseded = [seconds for seconds, _ in answers[:-1]]
        assert max(superseded) < SILENT_REMOTE_TIMEOUT  # given up, not timed out
        assert answers[-1][0] < SILENT_REMOTE_TIMEOUT + GUARD_S
        assert len(messages_shown(client)) == 1
        assert server.requests <= KEYSTROKES
        assert (await suggestion_after_recovery(client, server)).startswith(" + b")
    finally:
        server.close()


async def test_a_certificate_for_another_host_is_refused_once_per_request(
    start_fimble: StartFimble, tmp_path: Path
) -> None:
    """TLS with a certificate for the wrong host name (and an authority fimble does not
    trust): nothing is sent, the message says it is the certificate, and a refused
    certificate is not retried like a server that is down."""
    server = MisbehavingServer(HEALTHY, tls=tls_context(tmp_path, "wrong.example"))
    try:
        client = await start_fimble(server, REMOTE_TIMEOUT)
        answers = [await timed_keystroke(client, index) for index in range(KEYSTROKES)]
        report("tls wrong host", [seconds for seconds, _ in answers], client)
        assert all(empty for _, empty in answers)
        assert all(seconds < REMOTE_TIMEOUT + GUARD_S for seconds, _ in answers)
        assert server.requests == 0
        assert server.connections == KEYSTROKES
        [message] = messages_shown(client)
        assert "certificate" in message
    finally:
        server.close()


async def test_a_fault_after_recovery_is_told_again(start_fimble: StartFimble) -> None:
    """One message per fault, not one per session: once the server has answered again, the
    same failure later is news to the user and is shown again (once)."""
    server = MisbehavingServer(HTTP_500)
    try:
        client = await start_fimble(server, REMOTE_TIMEOUT)
        await keystrokes_answered_empty_with_one_message(client, HTTP_500)
        assert (await suggestion_after_recovery(client, server)).startswith(" + b")
        server.fault = HTTP_500
        asked = server.requests
        for line, character in ((3, len(TYPED)), (2, 0), (0, len("def add(a, b):"))):
            assert not (await inline_at(client, URI, line, character)).items
        assert server.requests == asked + 3  # places not answered before: each one sent
        shown = messages_shown(client)
        assert len(shown) == 2 and shown[0] == shown[1], shown
    finally:
        server.close()


async def test_a_team_certificate_authority_is_trusted_through_remote_ca_file(
    start_fimble: StartFimble, tmp_path: Path
) -> None:
    """A server whose certificate an internal authority signed: refused (nothing sent, one
    message naming the certificate and remoteCaFile) until remoteCaFile names that
    authority's PEM file (a file that is not there: a message saying so); then suggestions
    come, from the next request on."""
    authority = tmp_path / "team-ca.pem"
    server = MisbehavingServer(HEALTHY, tls=tls_context(tmp_path, "127.0.0.1", authority))
    try:
        client = await start_fimble(server, REMOTE_TIMEOUT)
        for index in range(2):
            seconds, empty = await timed_keystroke(client, index)
            assert empty and seconds < REMOTE_TIMEOUT + GUARD_S
        [message] = messages_shown(client)
        assert "certificate" in message and "remoteCaFile" in message
        assert server.requests == 0
        missing = {**server.settings(REMOTE_TIMEOUT), "remoteCaFile": str(tmp_path / "no.pem")}
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(missing))
        assert not (await inline_at(client, URI, 1, len("    return a"))).items
        assert "remoteCaFile" in messages_shown(client)[-1]
        assert "could not be loaded" in messages_shown(client)[-1]
        settings = {**server.settings(REMOTE_TIMEOUT), "remoteCaFile": str(authority)}
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings))
        assert only_text(await inline_at(client, URI, 1, len("    return a"))) == " + b"
        assert server.requests == 1
    finally:
        server.close()
