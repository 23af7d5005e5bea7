"""Writes fimble's server settings into package.json's contributes.configuration.

Run from the repository root: `python editors/vscode/scripts/sync_settings.py`. The server's
typed schema (lsp_server/settings.py) is the source; tests/unit/test_editor_configs.py fails
when package.json drifts from it. The extension's own settings (enable, serverPath,
serverArgs, and pythonPath, installSource, pipArgs for installing the server) are kept as they
are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "editors" / "vscode" / "package.json"
EXTENSION_ONLY = (
    "fimble.enable",
    "fimble.serverPath",
    "fimble.serverArgs",
    "fimble.pythonPath",
    "fimble.installSource",
    "fimble.pipArgs",
)


def synced(package: dict[str, object]) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from lsp_server.settings import settings_schema

    configuration = package["contributes"]["configuration"]  # type: ignore[index]
    current = configuration["properties"]
    properties = {name: current[name] for name in EXTENSION_ONLY}
    properties.update({f"fimble.{name}": prop for name, prop in settings_schema().items()})
    configuration["properties"] = properties
    return package


def main() -> int:
    package = json.loads(PACKAGE.read_text())
    PACKAGE.write_text(json.dumps(synced(package), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
