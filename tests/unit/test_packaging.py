"""The wheel's package list (written out, for the editor files' mapping) misses no package."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_in_the_tree_is_listed_for_the_wheel() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    in_tree = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("lsp_server", "context", "engines")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == in_tree | {"lsp_server.editors"}
    assert setuptools["package-dir"] == {"lsp_server.editors": "editors"}
    shipped = setuptools["package-data"]["lsp_server.editors"]
    assert "helix/languages.toml" in shipped  # read by the Helix snippet's test and users
    assert any(pattern.startswith("neovim/") for pattern in shipped)
