"""The deny list and `.gitignore` as the workspace scope applies them to names and documents."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from context.workspace_files import WorkspaceScope, utf8_longer_than

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


SWAPS = ["file to a link out", "file to a link to .env", "folder to a link out", "file to a FIFO"]


def swap(kind: str, inside: Path, outside: Path) -> None:
    """Replace `inside/pkg/mod.py` (or its folder) after the scope checked it."""
    module = inside / "pkg" / "mod.py"
    if kind == "folder to a link out":
        (inside / "pkg").rename(inside / "pkg.old")
        (inside / "pkg").symlink_to(outside, target_is_directory=True)
        return
    module.unlink()
    if kind == "file to a FIFO":
        os.mkfifo(module)
    else:
        module.symlink_to(outside / "mod.py" if kind == "file to a link out" else inside / ".env")


@pytest.mark.parametrize("kind", SWAPS)
def test_a_file_swapped_between_check_and_open_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """What is read is the file that was checked: swapped for a link after the check, the
    file (or its folder) leads nowhere; swapped for a FIFO, the read does not block."""
    inside, outside = tmp_path / "project", tmp_path / "outside"
    (inside / "pkg").mkdir(parents=True)
    outside.mkdir()
    (inside / "pkg" / "mod.py").write_text("def mod():\n    return 'inside'\n")
    (inside / ".env").write_text("TOKEN = 'tok_env_S1'\n")
    (outside / "mod.py").write_text("TOKEN = 'tok_outside_S2'\n")
    scope = WorkspaceScope([inside])
    assert scope.read(inside / "pkg" / "mod.py") == "def mod():\n    return 'inside'\n"
    checked = WorkspaceScope.allows

    def check_then_swap(self: WorkspaceScope, path: Path) -> bool:
        allowed = checked(self, path)
        swap(kind, inside, outside)
        return allowed

    monkeypatch.setattr(WorkspaceScope, "allows", check_then_swap)
    found: list[str | None] = []
    reader = threading.Thread(target=lambda: found.append(scope.read(inside / "pkg" / "mod.py")))
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # blocked on the FIFO: let it go before failing
        with open(inside / "pkg" / "mod.py", "wb"):
            pass
        reader.join()
        pytest.fail("the read blocked on a FIFO")
    assert found == [None]


def test_link_loops_are_neither_allowed_nor_read_and_withheld_by_name(tmp_path: Path) -> None:
    (tmp_path / "a.py").symlink_to("b.py")
    (tmp_path / "b.py").symlink_to("a.py")
    (tmp_path / ".env").symlink_to(".env")
    scope = WorkspaceScope([tmp_path])
    assert not scope.allows(tmp_path / "a.py") and scope.read(tmp_path / "a.py") is None
    assert scope.relative(tmp_path / "a.py") is None
    assert scope.withholds(tmp_path / ".env", remote=True)
    assert not scope.withholds(tmp_path / "a.py", remote=True)


def test_text_on_disk_is_read_without_a_bom_with_lf_line_breaks_and_only_as_utf8(
    tmp_path: Path,
) -> None:
    files = {
        "crlf.py": b"a = 1\r\nb = 2\r\n",
        "cr.py": b"a = 1\rb = 2\r",
        "bom.py": b"\xef\xbb\xbfa = 1\nb = 2\n",
        "tabs.py": b"if a:\n\tb = 2\n",
        "latin1.py": b"a = '\xe9'\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    scope = WorkspaceScope([tmp_path])
    read = {name: scope.read(tmp_path / name) for name in files}
    assert read == {
        "crlf.py": "a = 1\nb = 2\n",
        "cr.py": "a = 1\nb = 2\n",
        "bom.py": "a = 1\nb = 2\n",
        "tabs.py": "if a:\n\tb = 2\n",
        "latin1.py": None,
    }


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: chmod 000 does not stop root from reading a file",
)
def test_an_unreadable_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "locked.py").write_text("x = 1\n")
    os.chmod(tmp_path / "locked.py", 0)
    (tmp_path / "open.py").write_text("y = 2\n")
    scope = WorkspaceScope([tmp_path])
    assert list(scope.walk()) == [tmp_path / "locked.py", tmp_path / "open.py"]
    assert scope.read(tmp_path / "locked.py") is None
    assert scope.read(tmp_path / "open.py") == "y = 2\n"


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.sampled_from(["a", "é", "中", "😀", "\ud800"]), max_size=40).map("".join),
    max_bytes=st.integers(0, 120),
)
def test_the_utf8_size_is_judged_as_encoding_it_would(text: str, max_bytes: int) -> None:
    encoded = len(text.encode("utf-8", errors="surrogatepass"))
    assert utf8_longer_than(text, max_bytes) == (encoded > max_bytes)
