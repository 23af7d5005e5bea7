"""An editor killed with `kill -9` mid-request must not leave fimble running behind it.

The client here is a separate process that starts `fimble serve`, asks for a completion
and is killed before the answer comes: the server sees its stdin close and must exit on its
own (an orphaned server would keep a model in memory and a core busy until reboot).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SERVER_COMMAND

pytestmark = pytest.mark.model

GUARD_SECONDS = 120.0  # far beyond any clean exit; only a hang gets near it

DOOMED_CLIENT = r"""
import json, subprocess, sys, time

def frame(message):
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body

server = subprocess.Popen(json.loads(sys.argv[1]), stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
uri = "file:///work/doomed.py"
text = "def add(a, b):\n    return \n" + "x = 1\n" * 400
for message in (
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"processId": None, "rootUri": None, "capabilities": {}}},
    {"jsonrpc": "2.0", "method": "initialized", "params": {}},
    {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}}},
    {"jsonrpc": "2.0", "id": 2, "method": "textDocument/inlineCompletion", "params": {
        "textDocument": {"uri": uri}, "position": {"line": 1, "character": 11},
        "context": {"triggerKind": 2}}},
):
    server.stdin.write(frame(message))
server.stdin.flush()
print(server.pid, flush=True)
time.sleep(3600)
"""


def process_state(pid: int) -> str | None:
    """The kernel's state letter for `pid`, None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def server_mid_request(pid: int) -> bool:
    """True once the server is loading or generating (its CPU time is growing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return int(fields[11]) + int(fields[12]) > 50  # utime + stime, in clock ticks


def test_server_exits_when_its_client_is_killed_mid_request() -> None:
    client = subprocess.Popen(
        [sys.executable, "-c", DOOMED_CLIENT, json.dumps(SERVER_COMMAND)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    assert client.stdout is not None
    server_pid = int(client.stdout.readline())
    deadline = time.monotonic() + GUARD_SECONDS
    while not server_mid_request(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process_state(server_pid) not in (None, "Z"), "the server ended before the kill"

    os.kill(client.pid, signal.SIGKILL)
    client.wait()
    killed_at = time.monotonic()
    while process_state(server_pid) not in (None, "Z"):
        if time.monotonic() - killed_at > GUARD_SECONDS:
            os.kill(server_pid, signal.SIGKILL)
            pytest.fail("fimble serve kept running after its client was killed")
        time.sleep(0.2)
