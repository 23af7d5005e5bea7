"""Privacy: no network beyond loopback, no source text in the log at the default level.

Every server process started by the e2e tests runs with the audit hook of
`network_audit/sitecustomize.py` (see conftest.start_server, which asserts after each test
that nothing beyond loopback was tried). This file proves the hook sees a real attempt, and
checks the log of a whole session for the user's code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from lsp_server.log_privacy import WITHHELD
from tests.e2e.conftest import (
    ROOT,
    audited_env,
    editor_capabilities,
    inline_at,
    network_attempts,
    only_text,
    open_document,
    send_raw_request,
)

SECRET_LINE = "API_TOKEN_FOR_TESTS = 'zebra-quartz-31337'"


def test_the_audit_hook_sees_a_connection_attempt(tmp_path: Path) -> None:
    audit_log = tmp_path / "audit.log"
    probe = (
        "import socket\n"
        "s = socket.socket(); s.settimeout(0.2)\n"
        "try:\n    s.connect(('192.0.2.1', 9))\nexcept OSError:\n    pass\n"
        "socket.create_connection(('127.0.0.1', 9), timeout=0.2) if False else None\n"
    )
    subprocess.run(
        [sys.executable, "-c", probe],
        env=audited_env(None, audit_log),
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    attempts = network_attempts(audit_log)
    assert len(attempts) == 1 and "192.0.2.1" in attempts[0]


def source_fragments(text: str, suggestion: str) -> list[str]:
    """What of the user's code a log could leak: each line of the document, the suggestion."""
    lines = [line.strip() for line in text.splitlines()]
    return [fragment for fragment in [*lines, suggestion.strip()] if len(fragment) >= 5]


async def run_logged_session(tmp_path: Path, log_level: str | None) -> tuple[str, str]:
    """A session (one answer, one malformed request) logged to a file: (document, suggestion)."""
    audit_log = tmp_path / "audit.log"
    log_file = tmp_path / "server.log"
    command = [sys.executable, "-m", "lsp_server.cli", "serve", "--log-file", str(log_file)]
    if log_level is not None:
        command += ["--log-level", log_level]
    config = ClientServerConfig(server_command=command, server_env=audited_env(None, audit_log))
    client = await config.start()
    assert isinstance(client, LanguageClient)
    text = f"{SECRET_LINE}\n\n\ndef add(a, b):\n    return \n"
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=editor_capabilities(),
                initialization_options={"maxTokens": 16},
                root_uri=ROOT.as_uri(),
            )
        )
        uri = "file:///work/secrets_nearby.py"
        open_document(client, uri, text)
        suggestion = only_text(await inline_at(client, uri, 4, len("    return ")))
        # Malformed input makes the libraries log the message bodies they could not read.
        bad = {"textDocument": {"uri": uri}, "position": {"line": -1, "character": SECRET_LINE}}
        with pytest.raises(JsonRpcException, match="Invalid params"):
            await send_raw_request(client, "textDocument/inlineCompletion", bad, "privacy-1")
    finally:
        await client.shutdown_session()
        await client.stop()
    assert network_attempts(audit_log) == []
    assert "audit hook installed" in audit_log.read_text(encoding="utf-8")
    return text, suggestion


@pytest.mark.model
async def test_a_session_logs_no_source_text_and_reaches_nothing(tmp_path: Path) -> None:
    text, suggestion = await run_logged_session(tmp_path, log_level=None)
    logged = (tmp_path / "server.log").read_text(encoding="utf-8")
    leaked = [fragment for fragment in source_fragments(text, suggestion) if fragment in logged]
    assert leaked == [], logged
    assert "zebra-quartz" not in logged
    # What the default level is for: each answer's figures, and the malformed request,
    # recorded with its body withheld.
    assert re.search(r"fimble\.requests: answered from model in \d+ ms: prompt \d+ tokens", logged)
    assert re.search(r"ERROR pygls[\w.]*: [^\n]*\s*" + re.escape(WITHHELD), logged), logged


@pytest.mark.model
async def test_debug_level_is_the_one_that_logs_source_text(tmp_path: Path) -> None:
    """The check above can see source text in a log: asked for, DEBUG writes it."""
    await run_logged_session(tmp_path, log_level="DEBUG")
    logged = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "zebra-quartz" in logged
