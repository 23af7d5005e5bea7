"""Which files of the user's workspace fimble may read as context, and reading them safely.

Cross-file context puts other files into the prompt, so what may be read is decided here,
once: only files inside the workspace folders, never what `.gitignore` ignores, never secrets
(a default deny list of env files, keys, certificates and credentials, plus the user's own
exclude globs, matched whatever the case of the name), never binary files, and within size
and count limits. Every context source goes through this scope, open documents included.
The same deny list keeps a document from being completed at all (`withholds`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from context.line_breaks import as_lf

# Gitignore syntax, matched in lower case against the lower-cased path.
DEFAULT_DENY: tuple[str, ...] = (
    ".env*",  # .env, .env.production, .env-prod, .env_local, .envrc, .envrc.local
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.crt",
    "*.cer",
    "*.der",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.gpg",
    "*.asc",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".htpasswd",
    "*credentials*",
    "*secret*",
    "*.tfstate",
    "*.tfstate.*",
    ".aws/",
    ".ssh/",
    ".gnupg/",
    "**/.docker/config.json",
    "**/.kube/config",
)
SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        "target",
        "dist",
        "build",
        ".idea",
        ".vscode",
    }
)
BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class ScopeLimits:
    max_file_bytes: int = 200_000
    max_files: int = 5_000


def _spec(patterns: Sequence[str]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def real_path(path: Path) -> Path | None:
    """`path` absolute with its links resolved; None where they loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a link loop, before Python 3.13
        return None


class WorkspaceScope:
    """The privacy and size policy over a set of workspace folders."""

    def __init__(
        self,
        roots: Sequence[Path],
        exclude: Sequence[str] = (),
        limits: ScopeLimits = ScopeLimits(),
    ) -> None:
        self.roots = tuple(root.resolve() for root in roots)
        self.limits = limits
        self._deny = _spec([pattern.lower() for pattern in (*DEFAULT_DENY, *exclude)])
        self._ignores: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def root_of(self, path: Path) -> Path | None:
        for root in self.roots:
            if path == root or root in path.parents:
                return root
        return None

    def relative(self, path: Path) -> str | None:
        """The "/"-separated path inside its workspace folder, None if outside all of them."""
        resolved = real_path(path)
        root = self.root_of(resolved) if resolved is not None else None
        if resolved is None or root is None:
            return None
        return resolved.relative_to(root).as_posix()

    def _gitignore(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._ignores:
            ignore_file = directory / ".gitignore"
            spec = None
            if ignore_file.is_file():
                try:
                    spec = _spec(
                        ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                    )
                except OSError:
                    spec = None
            self._ignores[directory] = spec
        return self._ignores[directory]

    def is_denied_name(self, relative: str) -> bool:
        """Deny list and user excludes, by path alone (works for unsaved documents too),
        whatever the case: `.ENV`, `Secrets.yaml` and `cert.CRT` are denied."""
        return self._deny.match_file(relative.lower())

    def _ignored(self, path: Path, root: Path, is_dir: bool) -> bool:
        relative = path.relative_to(root).as_posix()
        if self.is_denied_name(relative) or (is_dir and self.is_denied_name(relative + "/")):
            return True
        return self._ignored_by_git(path, root, is_dir)

    def _ignored_by_git(self, path: Path, root: Path, is_dir: bool) -> bool:
        directory = path.parent
        while True:
            spec = self._gitignore(directory)
            if spec is not None:
                inner = path.relative_to(directory).as_posix()
                if spec.match_file(inner) or (is_dir and spec.match_file(inner + "/")):
                    return True
            if directory == root:
                return False
            directory = directory.parent

    def allows(self, path: Path) -> bool:
        """Whether context may come from `path` (a file on disk or an open document's path)."""
        resolved = real_path(path)
        root = self.root_of(resolved) if resolved is not None else None
        if resolved is None or root is None or resolved == root:
            return False
        parts = resolved.relative_to(root).parts
        if any(part in SKIPPED_DIRECTORIES for part in parts[:-1]):
            return False
        directory = resolved.parent
        ancestors = []
        while directory != root:
            ancestors.append(directory)
            directory = directory.parent
        if any(self._ignored(ancestor, root, True) for ancestor in ancestors):
            return False
        return not self._ignored(resolved, root, False)

    def denies(self, path: Path) -> bool:
        """Whether the deny list covers the file at `path`, inside the workspace folders or
        not, by its name as opened and as its links resolve (a link named `.env`, or one
        that leads to a key)."""
        return any(self._denied_path(named) for named in _names_of(path))

    def _denied_path(self, path: Path) -> bool:
        root = self.root_of(path)
        relative = path.relative_to(root).as_posix() if root else path.as_posix().lstrip("/")
        return self.is_denied_name(relative)

    def ignored_by_git(self, path: Path) -> bool:
        """Whether a `.gitignore` of its workspace folder covers the file at `path` or a
        folder above it (as opened or as its links resolve)."""
        return any(self._git_covers(named) for named in _names_of(path))

    def _git_covers(self, path: Path) -> bool:
        root = self.root_of(path)
        if root is None or path == root:
            return False
        folders = list(path.relative_to(root).parents)[:-1]  # "a/b/c.py": a/b, a
        if any(self._ignored_by_git(root / folder, root, True) for folder in folders):
            return True
        return self._ignored_by_git(path, root, False)

    def withholds(self, path: Path, remote: bool) -> bool:
        """Whether the document at `path` gets no suggestion at all: its text would go to a
        remote engine and the deny list or `.gitignore` covers it. A local engine completes
        it (its text stays in this process; it is still never context for another document),
        so that code in a file whose name merely looks secret (`secret_santa.py`) is served."""
        return remote and (self.denies(path) or self.ignored_by_git(path))

    def walk(self) -> Iterator[Path]:
        """Every readable-looking file of the workspace, lazily, up to the file count limit."""
        yielded = 0
        for root in self.roots:
            for directory, subdirectories, files in os.walk(root):
                current = Path(directory)
                subdirectories[:] = sorted(
                    name
                    for name in subdirectories
                    if name not in SKIPPED_DIRECTORIES
                    and not self._ignored(current / name, root, True)
                )
                for name in sorted(files):
                    path = current / name
                    if self._ignored(path, root, False):
                        continue
                    yield path
                    yielded += 1
                    if yielded >= self.limits.max_files:
                        return

    def read(self, path: Path) -> str | None:
        """The file's text if the scope allows it and it is small, text, and UTF-8 (without
        a byte order mark, line breaks as LF).

        The file read is the file checked: it is opened from its workspace folder down
        through no link at all, so a file or folder swapped for a link after the check
        fails to open rather than lead out of the workspace or to a denied file; and what
        opens must be a regular file (a FIFO swapped in would block the read)."""
        resolved = real_path(path)
        root = self.root_of(resolved) if resolved is not None else None
        if resolved is None or root is None or not self.allows(resolved):
            return None
        try:
            data = _read_beneath(root, resolved.relative_to(root).parts, self.limits)
        except OSError:
            return None
        if data is None or _looks_binary(data):
            return None
        try:
            return as_lf(data.decode("utf-8").removeprefix("\ufeff"))
        except UnicodeDecodeError:
            return None

    def admits(self, path: Path, text: str) -> bool:
        """Whether an open document's `text` may be context: what `read` asks of a file on
        disk (an allowed path, at most `max_file_bytes`, no NUL byte near the start)."""
        if utf8_longer_than(text, self.limits.max_file_bytes) or not self.allows(path):
            return False
        # The first BINARY_SNIFF_BYTES bytes come from at most as many characters.
        return not _looks_binary(text[:BINARY_SNIFF_BYTES].encode("utf-8", "surrogatepass"))


def utf8_longer_than(text: str, max_bytes: int) -> bool:
    """Whether `text` takes more than `max_bytes` in UTF-8. It is encoded only when its length
    leaves a doubt: a 50 MB document is not copied on every keystroke to learn it."""
    if len(text) > max_bytes or len(text) * 4 <= max_bytes:
        return len(text) > max_bytes
    return len(text.encode("utf-8", errors="surrogatepass")) > max_bytes


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def _names_of(path: Path) -> set[Path]:
    """The file at `path` as opened and as its links resolve (as opened alone if they loop)."""
    resolved = real_path(path)
    return {path.absolute()} if resolved is None else {path.absolute(), resolved}


_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FOLDER = getattr(os, "O_DIRECTORY", 0)
_NO_WAIT = getattr(os, "O_NONBLOCK", 0)
_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _open_beneath(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of the file `parts` below `root`, reached through no link: each folder
    and the file itself are opened relative to the one above, refusing links."""
    if not _NO_FOLLOW or os.open not in os.supports_dir_fd:
        return _open_checked(root.joinpath(*parts))
    folder = os.open(root, _READ | _FOLDER)
    try:
        for part in parts[:-1]:
            inner = os.open(part, _READ | _FOLDER | _NO_FOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        return os.open(parts[-1], _READ | _NO_FOLLOW | _NO_WAIT, dir_fd=folder)
    finally:
        os.close(folder)


def _open_checked(path: Path) -> int:
    """Where links cannot be refused along the way (Windows): the file opened must be the
    file at `path`, and `path` must still be its own resolved path."""
    descriptor = os.open(path, _READ)
    try:
        same = os.path.samestat(os.fstat(descriptor), os.stat(path))
    except OSError:
        same = False
    if not same or real_path(path) != path:
        os.close(descriptor)
        raise OSError(f"{path} changed while it was opened")
    return descriptor


def _read_beneath(root: Path, parts: tuple[str, ...], limits: ScopeLimits) -> bytes | None:
    """The bytes of the regular file `parts` below `root`, None if it is larger than the
    limit or not a regular file."""
    with os.fdopen(_open_beneath(root, parts), "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_size > limits.max_file_bytes:
            return None
        data = file.read(limits.max_file_bytes + 1)
    return data if len(data) <= limits.max_file_bytes else None
