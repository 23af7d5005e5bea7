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
