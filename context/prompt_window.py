"""Cutting the prefix and suffix shown to the model down to token budgets.

Windows always break at line boundaries, and the token counter is assumed to
be costly, so the largest fitting window is found by galloping plus binary
search over line boundaries: a logarithmic number of counts, each on a text at
most about twice the size of the final window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator


class _LazyBoundaries:
    """Line boundaries produced on demand, nearest to the cursor first."""

    def __init__(self, source: Iterator[int]) -> None:
        self._source = source
        self._items: list[int] = []

    def get(self, index: int) -> int | None:
        while len(self._items) <= index:
            item = next(self._source, None)
            if item is None:
                return None
            self._items.append(item)
        return self._items[index]


def _largest_fitting(boundaries: _LazyBoundaries, fits: Callable[[int], bool]) -> int:
    """Largest boundary index that fits; index 0 is kept even when it does not."""
    known_fit = 0
    step = 1
    while True:
        probe = known_fit + step
        position = boundaries.get(probe)
        if position is None:
            probe = _last_index(boundaries, known_fit, probe)
            position = boundaries.get(probe)
            if probe == known_fit or position is None:
                return known_fit
        if not fits(position):
            break
        known_fit = probe
        step *= 2
    too_big = probe
    while too_big - known_fit > 1:
        middle = (known_fit + too_big) // 2
        position = boundaries.get(middle)
        if position is not None and fits(position):
            known_fit = middle
        else:
            too_big = middle
    return known_fit


def _last_index(boundaries: _LazyBoundaries, low: int, high: int) -> int:
    """Index of the last existing boundary, knowing low exists and high does not."""
    while high - low > 1:
        middle = (low + high) // 2
        if boundaries.get(middle) is None:
            high = middle
        else:
            low = middle
    return low


def _line_starts_upward(text: str, line_start: int) -> Iterator[int]:
    position = line_start
    yield position
    while position > 0:
        position = text.rfind("\n", 0, position - 1) + 1
        yield position


def _line_ends_downward(text: str, offset: int, limit: int) -> Iterator[int]:
    position = offset
    while position < limit:
        newline = text.find("\n", position, limit)
        position = limit if newline < 0 else newline + 1
        yield position


def prefix_window(
    text: str,
    offset: int,
    count_tokens: Callable[[str], int],
    budget: int,
    anchor_lines: int = 1,
) -> str:
    """Whole lines above the cursor plus the cursor line's left part, trimmed from the top.

    Where the window cannot start at the top of the file, it starts at a line whose number
    is a multiple of `anchor_lines`: as the user types, its start moves in jumps of that
    many lines instead of one line at a time, so the prompt's start (and the KV cache
    holding it) stays the same across keystrokes.
    """
    line_start = text.rfind("\n", 0, offset) + 1
    boundaries = _LazyBoundaries(_line_starts_upward(text, line_start))
    index = _largest_fitting(boundaries, lambda start: count_tokens(text[start:offset]) <= budget)
    found = boundaries.get(index)
    start = line_start if found is None else found
    if start > 0 and anchor_lines > 1:
        start = _snap_down(text, start, line_start, anchor_lines)
    return text[start:offset]


def _snap_down(text: str, start: int, limit: int, anchor_lines: int) -> int:
    """The first line start at or after `start` (not past `limit`) on an anchor line."""
    line_number = text.count("\n", 0, start)
    for _ in range(-line_number % anchor_lines):
        newline = text.find("\n", start, limit)
        if newline < 0:
            break
        start = newline + 1
    return start


def suffix_window(
    text: str, offset: int, limit: int, count_tokens: Callable[[str], int], budget: int
) -> str:
    """Right part of the cursor line plus whole lines below, up to limit, trimmed at the bottom."""
    boundaries = _LazyBoundaries(_line_ends_downward(text, offset, limit))
    if boundaries.get(0) is None:
        return ""
    index = _largest_fitting(boundaries, lambda end: count_tokens(text[offset:end]) <= budget)
    end = boundaries.get(index)
    return text[offset : limit if end is None else end]
