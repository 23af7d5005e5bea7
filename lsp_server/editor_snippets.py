"""The configuration snippet each editor needs, filled with this install's `fimble` command.

`fimble editors NAME` prints these, so that a user copies one block that already names the
right executable. editors/helix/languages.toml is the Helix snippet for a `fimble` on PATH
(a test keeps the two in step); the Neovim and VS Code snippets point at editors/neovim and
the packaged extension.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

EDITORS = ("vscode", "neovim", "helix")


def editors_dir() -> Path:
    """The editor files: inside the installed package (a wheel carries editors/ there as
    lsp_server/editors), else the source tree's editors/ (a developer install)."""
    packaged = Path(__file__).resolve().parent / "editors"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "editors"


EDITORS_DIR = editors_dir()

HELIX_LANGUAGES = {
    "python": ["ruff", "jedi", "pylsp"],
    "javascript": ["typescript-language-server"],
    "typescript": ["typescript-language-server"],
    "rust": ["rust-analyzer"],
    "go": ["gopls", "golangci-lint-lsp"],
    "c": ["clangd"],
    "cpp": ["clangd"],
    "java": ["jdtls"],
}

HELIX_HEADER = """\
# fimble for Helix: add to ~/.config/helix/languages.toml (or a project's .helix/languages.toml).
# `fimble editors helix` prints this file with the full path of your fimble executable.
#
# Helix has no inline (ghost text) completion: fimble's suggestion appears as the first item
# of the completion popup, next to your other language servers' items. Helix never cancels
# a request, so fimble drops work for an older document version itself.
#
# `language-servers` REPLACES Helix's default list for a language, it does not add to it: the
# lists below keep Helix's defaults (as of Helix 25.01) and append fimble, limited to completion.
# If you already set `language-servers` for a language, add the fimble entry to your list, or
# let `fimble editors helix --merge ~/.config/helix/languages.toml` print your file with it added.
"""


def server_command() -> list[str]:
    """The command that starts this install's server: its `fimble` script if there is one."""
    beside = Path(sys.executable).with_name("fimble")
    if beside.is_file():
        return [str(beside), "serve"]
    found = shutil.which("fimble")
    if found:
        return [str(Path(found).resolve()), "serve"]
    return [sys.executable, "-m", "lsp_server.cli", "serve"]


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def helix_snippet(command: list[str]) -> str:
    lines = [
        HELIX_HEADER,
        "[language-server.fimble]",
        f"command = {json.dumps(command[0])}",
        f"args = {_toml_list(command[1:])}",
        "# fimble's settings (camelCase, see the README's settings table) go to "
        "initializationOptions.",
        "config = { maxTokens = 64 }",
    ]
    for language, servers in HELIX_LANGUAGES.items():
        listed = ", ".join(json.dumps(server) for server in servers)
        lines += [
            "",
            "[[language]]",
            f'name = "{language}"',
            f'language-servers = [{listed}, {{ name = "fimble", only-features = ["completion"] }}]',
        ]
    return "\n".join(lines) + "\n"


def neovim_snippet(command: list[str]) -> str:
    module = EDITORS_DIR / "neovim"
    cmd = "{ " + ", ".join(json.dumps(part) for part in command) + " }"
    filetypes = "{ " + ", ".join(json.dumps(name) for name in HELIX_LANGUAGES) + " }"
    return (
        "-- In ~/.config/nvim/init.lua. fimble's Lua module lives in editors/neovim of the\n"
        "-- fimble source (or copy its lua/fimble/init.lua to ~/.config/nvim/lua/fimble/).\n"
        f"vim.opt.runtimepath:append({json.dumps(str(module))})\n"
        'require("fimble").setup({\n'
        f"  cmd = {cmd},\n"
        f"  filetypes = {filetypes},\n"
        "  settings = { maxTokens = 64 }, -- fimble's settings, as in the README table\n"
        "})\n"
        "-- Neovim 0.12+: ghost text, Tab accepts. 0.7 to 0.11: <C-x><C-o> in insert mode.\n"
    )


def vscode_snippet(command: list[str]) -> str:
    built = EDITORS_DIR / "vscode" / "fimble-vscode.vsix"
    # An installed wheel carries no extension: name the file the source tree's build makes.
    vsix = built if built.is_file() else Path("fimble-vscode.vsix")
    settings: dict[str, object] = {"fimble.serverPath": command[0]}
    if command[1:] != ["serve"]:
        settings["fimble.serverArgs"] = command[1:]
    return (
        "# Install the extension (built with `npm ci && npm run package` in editors/vscode of\n"
        "# the fimble source):\n"
        f"code --install-extension {vsix}\n"
        "# Then, in settings.json (optional: by default the extension finds fimble in the\n"
        "# selected Python environment, then on PATH):\n" + json.dumps(settings, indent=2) + "\n"
    )


def snippet(editor: str, command: list[str] | None = None) -> str:
    chosen = command or server_command()
    render = {"vscode": vscode_snippet, "neovim": neovim_snippet, "helix": helix_snippet}
    return render[editor](chosen)
