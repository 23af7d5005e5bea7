"""Through the LSP: a value the model could only know from a secret file never comes back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document

pytestmark = pytest.mark.model

VALUES = 'DEPLOY_TOKEN_ZQ = "tok_7Hq2Xv9Lw"\n'
APP = "from {module} import DEPLOY_TOKEN_ZQ\n\nassert DEPLOY_TOKEN_ZQ == "


async def _complete(start_server: StartServer, workspace: Path, module: str) -> str:
    # Context on (the default model's measured budget is none).
    client = await start_server({"contextTokens": 384}, root_uri=workspace.as_uri())
    # The editor has the file open as well (open documents go through the same scope).
    values = workspace / f"{module}.py"
    open_document(client, values.as_uri(), values.read_text())
    uri = (workspace / "app.py").as_uri()
    text = APP.format(module=module)
    open_document(client, uri, text)
    result = await inline_at(client, uri, 2, len(text.splitlines()[2]))
    return only_text(result) if result.items else ""


async def test_secret_file_is_never_context(start_server: StartServer, tmp_path: Path) -> None:
    (tmp_path / "deploy_values.py").write_text(VALUES)  # an ordinary file: may be context
    (tmp_path / "deploy_secrets.py").write_text(VALUES)  # "*secret*": never context
    (tmp_path / ".env").write_text(VALUES)
    allowed = await _complete(start_server, tmp_path, "deploy_values")
    denied = await _complete(start_server, tmp_path, "deploy_secrets")
    # The test can see a leak: from an allowed file the model does copy the value.
    assert "tok_7Hq2Xv9Lw" in allowed, allowed
    assert "tok_7Hq2Xv9Lw" not in denied, denied
