"""A bounded ring of the regions of other documents the user recently edited or viewed.

What the user just touched elsewhere is often what they are about to use here (the function
they just wrote, the type they just looked up). The ring keeps a few fixed-size line windows,
newest first; touching a region that overlaps a kept one of the same file replaces it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

from context.line_breaks import lf_lines


@dataclass(frozen=True)
class Region:
    path: Path
    first_line: int
    text: str


class RecentRegions:
    def __init__(self, capacity: int = 16, lines: int = 32) -> None:
        self.capacity = capacity
        self.lines = lines
        self._regions: deque[Region] = deque(maxlen=capacity)

    def touch(self, path: Path, text: str, line: int) -> None:
        """Remember the window of `text` around `line` as the newest region."""
        all_lines = lf_lines(text)
        first = max(0, min(line - self.lines // 2, len(all_lines) - self.lines))
        window = "\n".join(all_lines[first : first + self.lines])
        kept = [
            region
            for region in self._regions
            if region.path != path or abs(region.first_line - first) >= self.lines
        ]
        self._regions = deque(kept, maxlen=self.capacity)
        if window.strip():
            self._regions.appendleft(Region(path, first, window))

    def forget(self, path: Path) -> None:
        self._regions = deque((r for r in self._regions if r.path != path), maxlen=self.capacity)

    def newest_first(self, excluding: Path | None = None) -> list[Region]:
        return [region for region in self._regions if region.path != excluding]
