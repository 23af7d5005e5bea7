"""Editor configurations stay in step with the server's settings schema."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

from lsp_server.settings import Settings, parse_settings, settings_schema

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "editors" / "vscode" / "package.json"


def test_vscode_settings_are_generated_from_the_schema() -> None:
    spec = importlib.util.spec_from_file_location(
        "sync_settings", ROOT / "editors" / "vscode" / "scripts" / "sync_settings.py"
    )
    assert spec and spec.loader
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    package = json.loads(PACKAGE.read_text())
    assert sync.synced(copy.deepcopy(package)) == package, (
        "package.json is stale: run python editors/vscode/scripts/sync_settings.py"
    )


def test_schema_defaults_are_what_the_server_accepts() -> None:
    defaults = {name: prop["default"] for name, prop in settings_schema().items()}
    settings, problems = parse_settings(defaults)
    assert problems == [] and settings == Settings()
    for name, prop in settings_schema().items():
        if "maximum" in prop:
            _, too_big = parse_settings({name: prop["maximum"] + 1})
            assert too_big, name


LAZY_SPEC_START = 'return {\n  dir = "/path/to/fimble"'


def lazy_spec_in(readme: Path) -> str | None:
    text = readme.read_text()
    if LAZY_SPEC_START not in text:
        return None
    start = text.index(LAZY_SPEC_START)
    return text[start : text.index("```", start)]


def test_the_readme_shows_the_lazy_spec_the_neovim_test_runs() -> None:
    """tests/e2e/test_editor_neovim.py runs editors/README.md's lazy.nvim spec in Neovim; the
    README's copy must be the same text."""
    tested = lazy_spec_in(ROOT / "editors" / "README.md")
    assert tested is not None
    assert lazy_spec_in(ROOT / "README.md") in (None, tested)
