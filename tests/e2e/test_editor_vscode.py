"""The VS Code extension installs from its lockfile, type-checks, lints, passes its tests
(activate() against a stub `vscode` API) and packages as a .vsix."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest

from tests.e2e.conftest import ROOT

EXTENSION = ROOT / "editors" / "vscode"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm are not installed",
)


def npm(*args: str) -> str:
    result = subprocess.run(
        ["npm", *args],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"npm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_extension_builds_and_packages() -> None:
    npm("ci", "--prefer-offline", "--no-audit", "--no-fund")
    npm("run", "typecheck")
    npm("run", "lint")
    tests = npm("test")
    assert "# fail 0" in tests and "# pass 22" in tests, tests
    npm("run", "package")
    vsix = EXTENSION / "fimble-vscode.vsix"
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
    assert "extension/out/extension.js" in names
    assert "extension/out/install.js" in names
    assert "extension/node_modules/vscode-languageclient/package.json" in names
    assert not any(name.startswith("extension/src/") for name in names)
