"""The deny list and `.gitignore` as the workspace scope applies them to names and documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from context.workspace_files import WorkspaceScope

DENIED = [
    ".env",
    ".env-prod",
    ".env_local",
    ".envrc",
    ".envrc.local",
    ".env.production",
    "config/.env.staging",
    "prod.env",
    ".ENV",
    ".Env.Local",
    "Secrets.yaml",
    "deploy/SECRET_values.py",
    "cert.CRT",
    "server.key",
    "Server.PEM",
    "id_rsa",
    "ID_ED25519.pub",
    "aws_credentials.json",
    ".ssh/config",
    "home/.aws/config",
    "home/.docker/config.json",
    "infra/terraform.tfstate.backup",
]
ALLOWED = [
    "app.py",
    "environment.py",
    "src/envelope.ts",
    "docs/keys.md",
    "monkey.py",
    "certificate_check.go",
    "README.md",
]


@pytest.mark.parametrize("name", DENIED)
def test_the_deny_list_catches_spellings_and_cases(name: str) -> None:
    assert WorkspaceScope([]).is_denied_name(name)


@pytest.mark.parametrize("name", ALLOWED)
def test_ordinary_names_pass(name: str) -> None:
    assert not WorkspaceScope([]).is_denied_name(name)


def test_user_excludes_match_whatever_the_case() -> None:
    scope = WorkspaceScope([], exclude=["private_*.py", "Vendor/"])
    assert scope.is_denied_name("PRIVATE_notes.py") and scope.is_denied_name("vendor/lib.py")
    assert not scope.is_denied_name("public.py")


def test_documents_are_withheld_from_remote_engines_by_name_anywhere_and_by_gitignore(
    tmp_path: Path,
) -> None:
    (tmp_path / ".gitignore").write_text("private/\n*.local.py\n")
    scope = WorkspaceScope([tmp_path])
    for name in (".env", "keys/Server.KEY", ".ssh/known_hosts"):
        assert scope.withholds(tmp_path / name, remote=True), name
        assert not scope.withholds(tmp_path / name, remote=False), name
    assert scope.withholds(Path("/outside/any/workspace/.env.local"), remote=True)
    for name in ("private/customers.py", "settings.local.py"):
        assert not scope.withholds(tmp_path / name, remote=False), name
        assert scope.withholds(tmp_path / name, remote=True), name
    assert not scope.withholds(tmp_path / "app.py", remote=True)
    assert not scope.withholds(Path("/outside/any/workspace/app.py"), remote=True)


def test_a_link_is_withheld_by_its_own_name_and_by_its_target(tmp_path: Path) -> None:
    (tmp_path / "server.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    (tmp_path / "notes.txt").write_text("notes\n")
    (tmp_path / "innocent.txt").symlink_to(tmp_path / "server.key")
    (tmp_path / ".env").symlink_to(tmp_path / "notes.txt")
    scope = WorkspaceScope([tmp_path])
    assert scope.withholds(tmp_path / "innocent.txt", remote=True)
    assert scope.withholds(tmp_path / ".env", remote=True)
    assert not scope.withholds(tmp_path / "notes.txt", remote=True)
