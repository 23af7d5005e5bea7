"""`fimble editors NAME` prints a snippet that the editor reads, naming this install's server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.editor_snippets import HELIX_LANGUAGES, helix_snippet, server_command
from tests.e2e.conftest import ROOT


def fimble_editors(name: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "lsp_server.cli", "editors", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_the_command_is_an_absolute_executable() -> None:
    command = server_command()
    assert Path(command[0]).is_absolute() and Path(command[0]).is_file()
    assert command[-1] == "serve"


def test_helix_snippet_is_toml_for_eight_languages() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads(fimble_editors("helix"))
    server = config["language-server"]["fimble"]
    assert [server["command"], *server["args"]] == server_command()
    languages = {language["name"]: language["language-servers"] for language in config["language"]}
    assert set(languages) == set(HELIX_LANGUAGES)
    for servers in languages.values():
        assert servers[-1] == {"name": "fimble", "only-features": ["completion"]}


def test_helix_file_is_the_snippet_for_fimble_on_path() -> None:
    shipped = (ROOT / "editors" / "helix" / "languages.toml").read_text()
    assert shipped == helix_snippet(["fimble", "serve"]), "regenerate editors/helix/languages.toml"


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed")
def test_neovim_snippet_loads_in_neovim(tmp_path: Path) -> None:
    init = tmp_path / "init.lua"
    init.write_text(fimble_editors("neovim"))
    shown = subprocess.run(
        ["nvim", "--headless", "--clean", "-u", str(init), "-c",
         "lua io.stdout:write(vim.fn.json_encode(require('fimble').config))", "-c", "qall!"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    config = json.loads(shown.stdout)
    assert config["cmd"] == server_command()
    assert config["settings"] == {"maxTokens": 64}


def test_vscode_snippet_names_the_server() -> None:
    text = fimble_editors("vscode")
    settings = json.loads(text[text.index("{") :])
    assert settings["fimble.serverPath"] == server_command()[0]
    assert "code --install-extension" in text


def test_helix_merge_keeps_the_users_servers(tmp_path: Path) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    languages = tmp_path / "languages.toml"
    languages.write_text('[[language]]\nname = "python"\nlanguage-servers = ["pyright"]\n')
    merged = subprocess.run(
        [sys.executable, "-m", "lsp_server.cli", "editors", "helix", "--merge", str(languages)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    config = tomllib.loads(merged)
    python = next(entry for entry in config["language"] if entry["name"] == "python")
    assert python["language-servers"] == [
        "pyright",
        {"name": "fimble", "only-features": ["completion"]},
    ]
    assert [config["language-server"]["fimble"]["command"], "serve"] == server_command()
    assert {entry["name"] for entry in config["language"]} == set(HELIX_LANGUAGES)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[language]\n")
    refused = subprocess.run(
        [sys.executable, "-m", "lsp_server.cli", "editors", "helix", "--merge", str(broken)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and str(broken) in refused.stderr and refused.stdout == ""
