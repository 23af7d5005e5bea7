"""`fimble models` and `fimble models pull`, as a user runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engines.model_catalog import PRESETS
from tests.e2e.conftest import ROOT


def fimble(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The timeout only guards the suite against a hang; the test asserts on the output.
    return subprocess.run(
        [sys.executable, "-m", "lsp_server.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def test_models_lists_every_preset() -> None:
    result = fimble("models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["name", "size", "params", "active", "MoE", "FIM"]
    for preset in PRESETS:
        row = next(line for line in lines if line.startswith(preset.name + " "))
        assert preset.active_params in row
    moe = next(line for line in lines if line.startswith("qwen3-coder-30b-a3b "))
    assert "30.5B" in moe and "3.3B" in moe and " yes " in moe
    default = next(line for line in lines if line.startswith("qwen2.5-coder-0.5b "))
    assert default.split()[-1] == "yes"  # 0.6 GiB fits any machine that runs these tests


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("offline", [False, True])
def test_pull_without_network_fails_clearly(tmp_path: Path, offline: bool) -> None:
    env = {"FIMBLE_CACHE_DIR": str(tmp_path), "HF_HOME": str(tmp_path / "hf")}
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    else:  # the Hub's address answers nothing: no network, as on a plane
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"
    result = fimble("models", "pull", "qwen2.5-coder-3b-base", env=env)
    assert result.returncode == 1
    assert "could not download Qwen2.5-Coder-3B.Q4_K_M.gguf" in result.stderr
    assert "needs network access" in result.stderr
    assert not (tmp_path / "models" / "Qwen2.5-Coder-3B.Q4_K_M.gguf").exists()


def test_pull_of_an_unknown_model_names_the_list() -> None:
    result = fimble("models", "pull", "gpt-5")
    assert result.returncode == 2 and "fimble models" in result.stderr
