"""fimble added to a user's own Helix languages.toml, keeping everything the user wrote.

In Helix, a language's `language-servers` replaces the default list instead of adding to
it, so pasting fimble's snippet over a configured language would drop the user's servers.
`fimble editors helix --merge FILE` prints the file with fimble appended where the user
lists servers, fimble's block (Helix's defaults plus fimble) where the user lists none, and
every other line as it was: tomlkit keeps comments, order and formatting.
"""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, InlineTable, Table

from lsp_server.editor_snippets import HELIX_LANGUAGES

SERVER = "fimble"


def _fimble_entry() -> InlineTable:
    entry = tomlkit.inline_table()
    entry.update({"name": SERVER, "only-features": ["completion"]})
    return entry


def _new_table() -> Table:
    """A table of fimble's, set apart from the one before it by a blank line."""
    table = tomlkit.table()
    table.trivia.indent = "\n"
    return table


def _names(servers: Array) -> list[str]:
    """The server names of a `language-servers` list (plain names or `{ name = ... }`)."""
    return [item if isinstance(item, str) else str(item.get("name", "")) for item in servers]


def _server_list(servers: list[Any]) -> Array:
    listed = tomlkit.array()
    listed.extend([*servers, _fimble_entry()])
    return listed


def _add_server(document: tomlkit.TOMLDocument, command: list[str]) -> None:
    servers = document.get("language-server")
    if servers is None:
        servers = tomlkit.table(is_super_table=True)
        document.append("language-server", servers)
    if SERVER in servers:
        return  # the user's own fimble server settings stay as written
    server = _new_table()
    config = tomlkit.inline_table()
    config.update({"maxTokens": 64})  # fimble's settings (the README's table), as the snippet
    server.update({"command": command[0], "args": command[1:], "config": config})
    server.add(tomlkit.nl())
    servers.append(SERVER, server)


def _add_to_language(language: Table, defaults: list[str]) -> None:
    servers = language.get("language-servers")
    if servers is None:
        language["language-servers"] = _server_list(defaults)
    elif SERVER not in _names(servers):
        servers.append(_fimble_entry())


def merge_helix_languages(existing: str, command: list[str]) -> str:
    """`existing` (a languages.toml's text) with fimble's server and its languages added."""
    document = tomlkit.parse(existing)
    _add_server(document, command)
    languages = document.get("language")
    if languages is None:
        languages = AoT([])
        document.append("language", languages)
    configured = {str(language.get("name")): language for language in languages}
    for name, defaults in HELIX_LANGUAGES.items():
        if name in configured:
            _add_to_language(configured[name], defaults)
        else:
            block = _new_table()
            block.update({"name": name, "language-servers": _server_list(defaults)})
            languages.append(block)
    return tomlkit.dumps(document)
