"""Code elsewhere in the workspace that looks like the code around the cursor.

Repositories repeat themselves: the call being written often mirrors one a few files away.
Files are cut into overlapping line windows whose identifier sets are compared with the
lines just above the cursor by Jaccard similarity. The index is updated one file at a time
(by whoever drives indexing), so no single request pays for the whole workspace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from context.line_breaks import lf_lines

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WINDOW_LINES = 16
WINDOW_STRIDE = 8
QUERY_LINES = 16
MAX_WINDOWS = 50_000


# Keywords of the languages fimble parses: shared by all code, they say nothing of similarity.
_KEYWORD_TEXT = (
    "and as assert async await break case catch class const continue def default defer del "
    "do elif else enum except export extends false False finally fn for from func function go "
    "if impl import in interface is lambda let loop match mod mut new nil none None nonlocal "
    "not null or package pass pub raise return self Self static struct super switch this "
    "throw true True try type typeof use var void where while with yield"
)
KEYWORDS = frozenset(_KEYWORD_TEXT.split())


# Below this, code shares too few names with the lines above the cursor to be worth prompt
# room (one name in five): neither similar windows nor recent regions are offered. At one in
# twenty (until 2026-12-01) every request of the 200-hole benchmark got similar code, and the
# windows it brought led the model to names of other code as often as to the right one.
MIN_SIMILARITY = 0.2


def identifiers(text: str) -> frozenset[str]:
    return frozenset(IDENTIFIER.findall(text)) - KEYWORDS


def similarity(wanted: frozenset[str], found: frozenset[str]) -> float:
    """Jaccard similarity of two identifier sets (0 when either is empty)."""
    shared = len(wanted & found)
    return shared / len(wanted | found) if shared else 0.0


@dataclass(frozen=True)
class Window:
    path: Path
    first_line: int
    text: str
    tokens: frozenset[str]


@dataclass(frozen=True)
class SimilarWindow:
    window: Window
    score: float


def cut_windows(path: Path, text: str) -> list[Window]:
    lines = lf_lines(text)
    windows = []
    for first in range(0, max(1, len(lines) - WINDOW_LINES + WINDOW_STRIDE), WINDOW_STRIDE):
        chunk = "\n".join(lines[first : first + WINDOW_LINES])
        tokens = identifiers(chunk)
        if len(tokens) >= 3:
            windows.append(Window(path, first, chunk, tokens))
    return windows


class SimilarCodeIndex:
    """Windows of indexed files, replaced whole when a file changes."""

    def __init__(self) -> None:
        self._windows: dict[Path, tuple[object, list[Window]]] = {}
        self._count = 0

    def stamp(self, path: Path) -> object | None:
        entry = self._windows.get(path)
        return entry[0] if entry else None

    def update(self, path: Path, text: str, stamp: object) -> None:
        self.remove(path)
        windows = cut_windows(path, text)
        if self._count + len(windows) > MAX_WINDOWS:
            return
        self._windows[path] = (stamp, windows)
        self._count += len(windows)

    def remove(self, path: Path) -> None:
        entry = self._windows.pop(path, None)
        if entry is not None:
            self._count -= len(entry[1])

    def __len__(self) -> int:
        return len(self._windows)

    def most_similar(
        self,
        query: str,
        excluding: Path,
        limit: int = 8,
        within: Callable[[Path], bool] = lambda _: True,
    ) -> list[SimilarWindow]:
        """The best windows of other files (those `within` accepts), at most one per file
        region, best first."""
        wanted = identifiers(query)
        if not wanted:
            return []
        scored: list[SimilarWindow] = []
        for path, (_, windows) in self._windows.items():
            if path == excluding or not within(path):
                continue
            for window in windows:
                score = similarity(wanted, window.tokens)
                if score:
                    scored.append(SimilarWindow(window, score))
        scored.sort(key=lambda item: (-item.score, str(item.window.path), item.window.first_line))
        chosen: list[SimilarWindow] = []
        for candidate in scored:
            if any(
                other.window.path == candidate.window.path
                and abs(other.window.first_line - candidate.window.first_line) < WINDOW_LINES
                for other in chosen
            ):
                continue
            chosen.append(candidate)
            if len(chosen) == limit:
                break
        return chosen


def query_text(text: str, offset: int) -> str:
    """The lines just above the cursor's line.

    Not the part of the cursor's line typed so far: each keystroke there would change the
    query, and with it which windows win, the prompt's start and the KV cache holding it.
    """
    line_start = text.rfind("\n", 0, offset) + 1
    return "\n".join(lf_lines(text[:line_start])[-QUERY_LINES:])
