"""Code from other files for the prompt: three ranked sources and one token budget.

Sources: definitions the current file imports (outlines) of the names used around the cursor
and of those imported but not used yet, recently edited or viewed regions of other open
documents that share names with the code at the cursor, and similar code windows from the
workspace (the same floor of shared names). Nothing qualifying, nothing goes
in: the prompt is then the prompt without context. Each ranks its
snippets; `choose_snippets` fills a token budget from them by their shares and lays the
chosen ones out sorted by path (not by score), so the start of the prompt stays the same
while the user types and the model's KV cache keeps it. Everything read goes through the
`WorkspaceScope`; indexing advances in bounded steps driven by the caller.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from context.definition_outline import OutlineEntry, outline
from context.import_resolution import imported_files
from context.languages import language_for_path
from context.line_breaks import as_lf, lf_lines
from context.member_names import (
    MemberAccess,
    js_module_members,
    member_access,
    python_module_members,
)
from context.recent_regions import RecentRegions
from context.similar_code import (
    IDENTIFIER,
    MIN_SIMILARITY,
    SimilarCodeIndex,
    identifiers,
    query_text,
    similarity,
)
from context.workspace_files import WorkspaceScope

TokenCount = Callable[[str], int]
Derived = TypeVar("Derived")
SOURCES = ("definitions", "recent", "similar")

# The names a workspace module offers to `module.` in a file that binds it whole, by its language.
_MODULE_MEMBERS: dict[str, Callable[[str], frozenset[str] | None]] = {
    "python": python_module_members,
    **{
        language_id: functools.partial(js_module_members, language_id=language_id)
        for language_id in ("javascript", "javascriptreact", "typescript", "typescriptreact")
    },
}


@dataclass(frozen=True)
class ContextOptions:
    """Budget and per-source shares (percent; 0 turns a source off)."""

    budget_tokens: int = 512
    shares: dict[str, int] = field(
        default_factory=lambda: {"definitions": 60, "recent": 15, "similar": 25}
    )


@dataclass(frozen=True)
class RankedSnippet:
    source: str
    path: str
    first_line: int
    text: str
    score: float


@dataclass(frozen=True)
class ChosenSnippet:
    """One file's section of the prompt."""

    path: str
    text: str


@dataclass(frozen=True)
class CrossFileSnippets:
    """Where a document sits in its workspace and the code from other files chosen for it."""

    file_path: str = ""  # relative to the workspace folder, "/"-separated
    repo_name: str = ""  # the workspace folder's name
    snippets: tuple[ChosenSnippet, ...] = ()
    tokens: int = 0  # what the snippets cost in the prompt, markers included
    # The members that may follow the access at the cursor, where all are known.
    member: MemberAccess | None = None

    def without_snippets(self) -> CrossFileSnippets:
        return CrossFileSnippets(self.file_path, self.repo_name, member=self.member)


def choose_snippets(
    ranked: dict[str, list[RankedSnippet]],
    options: ContextOptions,
    count_tokens: TokenCount,
) -> list[ChosenSnippet]:
    """Fill the budget by source shares (leftovers go to the others), then order by path."""
    enabled = {
        name: share for name, share in options.shares.items() if share > 0 and ranked.get(name)
    }
    total_share = sum(enabled.values())
    if not total_share or options.budget_tokens <= 0:
        return []
    chosen: list[RankedSnippet] = []
    seen_text: set[tuple[str, str]] = set()
    spent = 0
    leftovers: list[RankedSnippet] = []
    for name, share in enabled.items():
        allowance = options.budget_tokens * share // total_share
        used = 0
        for snippet in ranked[name]:
            key = (snippet.path, snippet.text)
            if key in seen_text:
                continue
            cost = count_tokens(snippet.text) + count_tokens(snippet.path) + 3
            if used + cost <= allowance:
                chosen.append(snippet)
                seen_text.add(key)
                used += cost
            else:
                leftovers.append(snippet)
        spent += used
    for snippet in sorted(leftovers, key=lambda item: -item.score):
        key = (snippet.path, snippet.text)
        cost = count_tokens(snippet.text) + count_tokens(snippet.path) + 3
        if key not in seen_text and spent + cost <= options.budget_tokens:
            chosen.append(snippet)
            seen_text.add(key)
            spent += cost
    return _lay_out(chosen)


def _lay_out(chosen: list[RankedSnippet]) -> list[ChosenSnippet]:
    by_path: dict[str, list[RankedSnippet]] = {}
    for snippet in chosen:
        by_path.setdefault(snippet.path, []).append(snippet)
    sections = []
    for path in sorted(by_path):
        parts = sorted(by_path[path], key=lambda item: (item.first_line, item.source))
        texts: list[str] = []
        for part in parts:
            if not any(part.text in text for text in texts):
                texts.append(part.text)
        sections.append(ChosenSnippet(path, "\n\n".join(texts)))
    return sections


# Definitions go in for the names the code at the cursor is about: those used on the lines
# around it, and those imported but not used yet (what the user imported in order to use
# next, which outrank the others). A name used only further away belongs to other code: its
# definition took the place of the file's own lines and led the model to the wrong name.
NEAR_LINES_ABOVE = 12
NEAR_LINES_BELOW = 4
UNUSED_IMPORT_BONUS = 1.0


def _awaiting_use(
    defined: tuple[str, ...], imported: frozenset[str], uses: dict[str, list[int]]
) -> bool:
    return any(name in imported and len(uses.get(name, ())) <= 1 for name in defined)


def _uses(text: str) -> dict[str, list[int]]:
    """Identifier -> the lines it appears on."""
    found: dict[str, list[int]] = {}
    for number, line in enumerate(lf_lines(text)):
        for name in IDENTIFIER.findall(line):
            found.setdefault(name, []).append(number)
    return found


class CrossFileContext:
    """Workspace-aware context gathering; not thread-safe (drive it from one thread)."""

    def __init__(self, scope: WorkspaceScope, recent: RecentRegions | None = None) -> None:
        self.scope = scope
        self.recent = recent or RecentRegions()
        self.similar = SimilarCodeIndex()
        self._open: dict[Path, str] = {}
        self._outlines: dict[Path, tuple[object, list[OutlineEntry]]] = {}
        self._members: dict[Path, tuple[object, frozenset[str] | None]] = {}
        self._walk: Iterator[Path] | None = None
        self.index_complete = not scope.roots

    # Documents the editor has open

    def open_document(self, path: Path, text: str) -> None:
        text = as_lf(text)
        self._open[path] = text
        if self.scope.admits(path, text):
            self.similar.update(path, text, ("open", hash(text)))

    def change_document(self, path: Path, text: str, line: int | None) -> None:
        text = as_lf(text)
        self._open[path] = text
        if not self.scope.admits(path, text):
            # Grown too large or binary-looking: none of it is context any more.
            self.recent.forget(path)
            self.similar.remove(path)
        elif line is not None:
            self.recent.touch(path, text, line)

    def view(self, path: Path, text: str, line: int) -> None:
        """The user is at `line` of the open document at `path` (a closed one, whose request
        or background work finishes late, is not brought back)."""
        if path in self._open and self.scope.admits(path, text):
            self.recent.touch(path, text, line)

    def close_document(self, path: Path) -> None:
        """Forget the document's editor text: its recent regions go, and the similar-code
        index keeps it only as saved in the workspace (unsaved or outside: not at all)."""
        self._open.pop(path, None)
        self.recent.forget(path)
        self._index_as_saved(path)

    def open_documents(self) -> dict[Path, str]:
        return dict(self._open)

    # Files on disk changing

    def file_changed(self, path: Path) -> None:
        """A workspace file was created, changed or deleted (a rename: both), as the
        editor's file watcher reports: the index follows the disk at once (an open
        document's editor text stays what counts)."""
        self._outlines.pop(path, None)
        if path not in self._open:
            self._index_as_saved(path)

    def _index_as_saved(self, path: Path) -> None:
        """Similar code of `path` as it is on disk now (none if it is gone or not allowed)."""
        self.similar.remove(path)
        if language_for_path(str(path)) == "plaintext" or not self.scope.allows(path):
            return
        stamp = self._stamp(path)
        text = self.scope.read(path) if stamp is not None else None
        if text is not None:
            self.similar.update(path, text, stamp)

    def still_there(self, path: Path) -> bool:
        """Whether `path` is open in the editor or still a file on disk."""
        return path in self._open or path.is_file()

    def sources_remain(self, path: Path, snippets: tuple[ChosenSnippet, ...]) -> bool:
        """Whether every file the snippets chosen for the document at `path` came from is
        still there (a file deleted or renamed since is context no more)."""
        root = self.scope.root_of(path)
        return root is not None and all(
            self.still_there(root.joinpath(*snippet.path.split("/"))) for snippet in snippets
        )

    # Reading through the scope

    def _exists(self, path: Path) -> bool:
        if path in self._open:
            return self.scope.admits(path, self._open[path])
        return path.is_file() and self.scope.allows(path)

    def _read(self, path: Path) -> str | None:
        if path in self._open:
            text = self._open[path]
            return text if self.scope.admits(path, text) else None
        return self.scope.read(path)

    def _list_directory(self, directory: Path) -> list[Path]:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            names = []
        paths = {directory / name for name in names}
        paths |= {path for path in self._open if path.parent == directory}
        return sorted(path for path in paths if self._exists(path))

    def _stamp(self, path: Path) -> object:
        if path in self._open:
            return ("open", hash(self._open[path]))
        try:
            stat = path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _per_version(
        self,
        cache: dict[Path, tuple[object, Derived]],
        path: Path,
        derive: Callable[[str], Derived],
    ) -> Derived | None:
        """What `derive` makes of the file's text, worked out once per version of the file
        (None where it cannot be read)."""
        stamp = self._stamp(path)
        kept = cache.get(path)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        text = self._read(path)
        if text is None:
            return None
        derived = derive(text)
        cache[path] = (stamp, derived)
        return derived

    def _outline(self, path: Path) -> list[OutlineEntry]:
        found = self._per_version(
            self._outlines, path, lambda text: outline(text, language_for_path(str(path)))
        )
        return found or []

    # Indexing

    def index_step(self, max_files: int = 25) -> bool:
        """Index up to `max_files` more workspace files; False once all are indexed."""
        if self.index_complete:
            return False
        if self._walk is None:
            self._walk = self.scope.walk()
        for _ in range(max_files):
            path = next(self._walk, None)
            if path is None:
                self.index_complete = True
                return False
            if language_for_path(str(path)) == "plaintext" or path in self._open:
                continue
            stamp = self._stamp(path)
            if self.similar.stamp(path) == stamp:
                continue
            text = self.scope.read(path)
            if text is not None:
                self.similar.update(path, text, stamp)
        return True

    # Sources

    def _relative(self, path: Path) -> str:
        return self.scope.relative(path) or path.name

    def definitions(
        self, path: Path, text: str, offset: int, language_id: str
    ) -> list[RankedSnippet]:
        root = self.scope.root_of(path)
        if root is None:
            return []
        cursor_line = text.count("\n", 0, offset)
        uses = _uses(text)
        ranked: list[RankedSnippet] = []
        # Imports resolve inside the document's own workspace folder only, never falling
        # back to the others: another folder is another project, and its module of the same
        # name (`utils`, `config`) is not the one this file imports.
        in_folder = self._in_folder_of(path)
        files = imported_files(
            text,
            language_id,
            path,
            (root,),
            lambda other: in_folder(other) and self._exists(other),
            lambda directory: [p for p in self._list_directory(directory) if in_folder(p)],
            lambda other: self._read(other) if in_folder(other) else None,
        )
        near = range(cursor_line - NEAR_LINES_ABOVE, cursor_line + NEAR_LINES_BELOW + 1)
        for imported in files:
            for entry in self._outline(imported.path):
                awaiting = _awaiting_use(entry.names, imported.names, uses)
                near_lines = [
                    line for name in entry.names for line in uses.get(name, []) if line in near
                ]
                if not near_lines and not awaiting:
                    continue
                distance = min((abs(line - cursor_line) for line in near_lines), default=0)
                score = 1.0 / (1.0 + distance / 10.0) + (UNUSED_IMPORT_BONUS if awaiting else 0.0)
                ranked.append(
                    RankedSnippet(
                        "definitions", self._relative(imported.path), entry.line, entry.text, score
                    )
                )
        ranked.sort(key=lambda item: -item.score)
        return ranked

    def member_access(
        self, path: Path, text: str, offset: int, language_id: str
    ) -> MemberAccess | None:
        """The names that may follow the access the cursor is writing, where all are known:
        a class's own members, or a workspace module's (read through the scope)."""
        return member_access(
            text, offset, language_id, lambda owner: self._module_members(path, text, owner)
        )

    def _module_members(self, path: Path, text: str, owner: str) -> frozenset[str] | None:
        root = self.scope.root_of(path)
        language_id = language_for_path(str(path))
        if root is None or language_id not in _MODULE_MEMBERS:
            return None
        in_folder = self._in_folder_of(path)
        files = imported_files(
            text,
            language_id,
            path,
            (root,),
            lambda other: in_folder(other) and self._exists(other),
            lambda directory: [],
            lambda other: None,
        )
        for imported in files:
            if imported.bound_as == owner:
                exported = _MODULE_MEMBERS.get(language_for_path(str(imported.path)))
                if exported is None:
                    return None
                return self._per_version(self._members, imported.path, exported)
        return None

    def _in_folder_of(self, path: Path) -> Callable[[Path], bool]:
        """Whether another file lies in `path`'s workspace folder: the prompt presents one
        repository (that folder), so code of other folders would carry wrong paths. A string
        test, as it runs for every indexed file on each request."""
        root = self.scope.root_of(path)
        inside = f"{root}{os.sep}"
        return lambda other: root is not None and str(other).startswith(inside)

    def recent_regions(self, path: Path, text: str, offset: int) -> list[RankedSnippet]:
        """Regions of other open documents the user edited or viewed lately, newest first,
        those only that are related to the code at `offset`: sharing names with the lines
        above it as similar code must. Code the user was at, but of another task, took the
        file's own lines' place and made suggestions worse."""
        in_folder = self._in_folder_of(path)
        wanted = identifiers(query_text(text, offset))
        regions = [
            r
            for r in self.recent.newest_first(excluding=path)
            if in_folder(r.path)
            and self.scope.allows(r.path)
            and similarity(wanted, identifiers(r.text)) >= MIN_SIMILARITY
        ]
        return [
            RankedSnippet("recent", self._relative(r.path), r.first_line, r.text, 1.0 / (1 + rank))
            for rank, r in enumerate(regions)
        ]

    def similar_code(self, path: Path, text: str, offset: int) -> list[RankedSnippet]:
        found = self.similar.most_similar(
            query_text(text, offset), path, within=self._in_folder_of(path)
        )
        gone = {s.window.path for s in found if not self.still_there(s.window.path)}
        for deleted in gone:  # deleted with no word from the editor: out of the index now
            self.similar.remove(deleted)
        found = [s for s in found if s.window.path not in gone]
        return [
            RankedSnippet(
                "similar",
                self._relative(s.window.path),
                s.window.first_line,
                s.window.text,
                s.score,
            )
            for s in found
            if s.score >= MIN_SIMILARITY and self.scope.allows(s.window.path)
        ]

    def gather(
        self,
        path: Path,
        text: str,
        offset: int,
        language_id: str,
        options: ContextOptions,
        count_tokens: TokenCount,
    ) -> list[ChosenSnippet]:
        """The snippets for a request at `offset` of `text` (the document at `path`)."""
        if options.budget_tokens <= 0:
            return []
        shares = options.shares
        ranked: dict[str, list[RankedSnippet]] = {}
        if shares.get("definitions", 0) > 0:
            ranked["definitions"] = self.definitions(path, text, offset, language_id)
        if shares.get("recent", 0) > 0:
            ranked["recent"] = self.recent_regions(path, text, offset)
        if shares.get("similar", 0) > 0:
            ranked["similar"] = self.similar_code(path, text, offset)
        return choose_snippets(ranked, options, count_tokens)
