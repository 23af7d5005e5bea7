"""fimble merged into a user's Helix languages.toml keeps the user's servers and lines."""

from __future__ import annotations

import tomllib

from lsp_server.editor_snippets import HELIX_LANGUAGES, helix_snippet
from lsp_server.helix_merge import merge_helix_languages

COMMAND = ["/home/me/.local/bin/fimble", "serve"]
FIMBLE = {"name": "fimble", "only-features": ["completion"]}
USERS = """\
# my helix config
[language-server.pyright]
command = "pyright-langserver"
args = ["--stdio"]

[[language]]
name = "python"
language-servers = ["pyright", "ruff"]  # mine
auto-format = true

[[language]]
name = "rust"
indent = { tab-width = 4, unit = "    " }

[[language]]
name = "zig"
language-servers = ["zls"]
"""


def servers_by_language(text: str) -> dict[str, list[object]]:
    return {
        language["name"]: language.get("language-servers")
        for language in tomllib.loads(text)["language"]
    }


def test_a_configured_language_keeps_its_servers_and_gets_fimble_last() -> None:
    merged = merge_helix_languages(USERS, COMMAND)
    languages = servers_by_language(merged)
    assert languages["python"] == ["pyright", "ruff", FIMBLE]
    assert "# mine" in merged and "auto-format = true" in merged


def test_a_configured_language_without_servers_gets_helix_defaults_and_fimble() -> None:
    rust = [
        language
        for language in tomllib.loads(merge_helix_languages(USERS, COMMAND))["language"]
        if language["name"] == "rust"
    ]
    assert rust == [
        {
            "name": "rust",
            "indent": {"tab-width": 4, "unit": "    "},
            "language-servers": ["rust-analyzer", FIMBLE],
        }
    ]


def test_unconfigured_languages_get_fimble_and_the_rest_stays_as_written() -> None:
    merged = merge_helix_languages(USERS, COMMAND)
    config = tomllib.loads(merged)
    languages = servers_by_language(merged)
    assert languages["zig"] == ["zls"]  # not one of fimble's languages: untouched
    for name in HELIX_LANGUAGES.keys() - {"python", "rust"}:
        assert languages[name] == [*HELIX_LANGUAGES[name], FIMBLE]
    assert config["language-server"]["pyright"] == {
        "command": "pyright-langserver",
        "args": ["--stdio"],
    }
    fimble = config["language-server"]["fimble"]
    assert [fimble["command"], *fimble["args"]] == COMMAND
    unchanged = [line for line in USERS.splitlines() if "language-servers" not in line]
    remaining = iter(merged.splitlines())
    assert all(line in remaining for line in unchanged)  # each of them, in the same order


def test_merging_again_changes_nothing_and_a_users_fimble_server_stays() -> None:
    once = merge_helix_languages(USERS, COMMAND)
    assert merge_helix_languages(once, ["/elsewhere/fimble", "serve"]) == once
    own = '[language-server.fimble]\ncommand = "fimble"\nargs = ["serve", "--log-file", "/tmp/f"]\n'
    merged = tomllib.loads(merge_helix_languages(own, COMMAND))
    assert merged["language-server"]["fimble"]["args"] == ["serve", "--log-file", "/tmp/f"]


def test_fimble_listed_by_name_is_not_added_twice() -> None:
    text = '[[language]]\nname = "go"\nlanguage-servers = ["gopls", "fimble"]\n'
    assert servers_by_language(merge_helix_languages(text, COMMAND))["go"] == ["gopls", "fimble"]


def test_an_empty_file_becomes_the_snippet() -> None:
    assert tomllib.loads(merge_helix_languages("", COMMAND)) == tomllib.loads(
        helix_snippet(COMMAND)
    )
