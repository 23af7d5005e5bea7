"""`fimble complete`, `fimble doctor` and `fimble serve` as a user runs them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import (
    ROOT,
    SERVER_COMMAND,
    editor_capabilities,
    inline_at,
    open_document,
)

pytestmark = pytest.mark.model


def fimble(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lsp_server.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_complete_prints_the_suggestion(tmp_path: Path) -> None:
    source = tmp_path / "area.py"
    source.write_text("def rectangle_area(width, height):\n    return \n")
    result = fimble("complete", f"{source}:2:12", "--plain")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().replace(" ", "") in {"width*height", "height*width"}


def test_complete_streams_and_reports_bad_locations(tmp_path: Path) -> None:
    source = tmp_path / "area.py"
    source.write_text("def rectangle_area(width, height):\n    return \n")
    streamed = fimble("complete", f"{source}:2:12", "-v")
    assert streamed.returncode == 0, streamed.stderr
    assert "width" in streamed.stdout and "line completion" in streamed.stderr
    bad = fimble("complete", f"{source}:0:1")
    assert bad.returncode == 2 and "1-based" in bad.stderr
    missing = fimble("complete", f"{tmp_path / 'nope.py'}:1:1")
    assert missing.returncode == 2 and "nope.py" in missing.stderr


def test_doctor_checks_the_default_model() -> None:
    result = fimble("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FIM format: qwen" in result.stdout
    assert "cross-file context: none by default" in result.stdout
    assert "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" in result.stdout
    assert "Apache-2.0" in result.stdout
    assert "OK: fimble is ready" in result.stdout


def test_doctor_fails_with_a_fix_it_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    result = fimble("doctor", "--model", str(broken))
    assert result.returncode == 1
    assert str(broken) in result.stdout and "truncated, corrupt" in result.stdout


async def test_no_source_text_in_the_log_by_default(tmp_path: Path) -> None:
    log = tmp_path / "fimble.log"
    command = [*SERVER_COMMAND, "--log-file", str(log), "--log-level", "INFO"]
    client = await ClientServerConfig(server_command=command).start()
    assert isinstance(client, LanguageClient)
    try:
        await client.initialize_session(types.InitializeParams(capabilities=editor_capabilities()))
        secret = "def confidential_payroll_rule_x7(a, b):\n    return zq_secret_token + \n"
        open_document(client, "file:///work/secret.py", secret)
        await inline_at(client, "file:///work/secret.py", 1, len("    return zq_secret_token + "))
        with pytest.raises(JsonRpcException):
            await inline_at(client, "file:///work/unknown.py", 0, 0)
        await client.shutdown_session()
    finally:
        await client.stop()
    text = log.read_text()
    assert "confidential_payroll_rule_x7" not in text and "zq_secret_token" not in text
    assert "JsonRpcInvalidParams" in text  # the log does record what happened


async def test_shutdown_and_exit_are_clean() -> None:
    client = await ClientServerConfig(server_command=SERVER_COMMAND).start()
    assert isinstance(client, LanguageClient)
    try:
        await client.initialize_session(types.InitializeParams(capabilities=editor_capabilities()))
        open_document(client, "file:///work/s.py", "def add(a, b):\n    return \n")
        await inline_at(client, "file:///work/s.py", 1, len("    return "))
        await client.shutdown_async(None)
        client.exit(None)
        server = client._server
        assert server is not None
        assert await asyncio.wait_for(server.wait(), 30) == 0
    finally:
        await client.stop()
