"""Neovim's own LSP client, with editors/neovim's Lua module, gets fimble's suggestion."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SERVER_COMMAND

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        shutil.which("nvim") is None, reason="Neovim is not installed (apt-get install neovim)"
    ),
]

SCRIPT = Path(__file__).with_name("neovim_completion.lua")


def test_neovim_completes_through_its_own_lsp_client(tmp_path: Path) -> None:
    source = tmp_path / "shapes.py"
    source.write_text("def rectangle_area(width, height):\n    return \n")
    out = tmp_path / "answer.json"
    env = {
        "FIMBLE_NVIM_RUNTIME": str(ROOT / "editors" / "neovim"),
        "FIMBLE_NVIM_CMD": json.dumps(SERVER_COMMAND),
        "FIMBLE_NVIM_CWD": str(ROOT),
        "FIMBLE_NVIM_FILE": str(source),
        "FIMBLE_NVIM_LINE": "1",
        "FIMBLE_NVIM_COL": str(len("    return ")),
        "FIMBLE_NVIM_OUT": str(out),
    }
    run = subprocess.run(
        ["nvim", "--headless", "--clean", "-u", str(SCRIPT)],
        cwd=tmp_path,
        env={**_base_env(), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.exists(), f"nvim wrote no answer (rc {run.returncode}): {run.stderr[-2000:]}"
    report = json.loads(out.read_text())
    assert "answers" in report, report
    assert report["params"]["textDocument"]["uri"] == source.as_uri()
    (answer,) = report["answers"]
    assert answer["client"] == "fimble" and "error" not in answer, answer
    assert answer["omnifunc"] == "v:lua.vim.lsp.omnifunc"
    (item,) = answer["result"]["items"]
    assert item["detail"] == "fimble"
    inserted = item["textEdit"]["newText"]
    assert inserted.replace(" ", "") in {"width*height", "height*width"}, item
    assert item["textEdit"]["range"]["start"] == {"line": 1, "character": len("    return ")}


def _base_env() -> dict[str, str]:
    keep = {key: value for key, value in os.environ.items() if not key.startswith("NVIM")}
    keep["PYTHONPATH"] = str(ROOT)
    keep["PATH"] = str(Path(sys.executable).parent) + os.pathsep + keep.get("PATH", "")
    return keep
