"""Cutting the prefix and suffix shown to the model down to token budgets.

Windows always break at line boundaries, and the token counter is assumed to
be costly, so the largest fitting window is found by galloping plus binary
search over line boundaries: a logarithmic number of counts, each on a text at
most about twice the size of the final window.

A document-anchored prefix (`DocumentSegments`) starts instead at one of a few fixed lines
of the document, so that an engine can keep the document from that line on evaluated and a
jump anywhere below it costs only the suffix.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from context.indentation import indent_width


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
    holding it) stays the same across keystrokes. A window shorter than two such steps is
    not snapped (it would lose up to half its lines, or all of them).
    """
    line_start = text.rfind("\n", 0, offset) + 1
    boundaries = _LazyBoundaries(_line_starts_upward(text, line_start))
    index = _largest_fitting(boundaries, lambda start: count_tokens(text[start:offset]) <= budget)
    found = boundaries.get(index)
    start = line_start if found is None else found
    if start > 0 and anchor_lines > 1 and text.count("\n", start, line_start) >= 2 * anchor_lines:
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


# Document-anchored prefixes ---------------------------------------------------------------
#
# A prefix that starts at a fixed line of the document (an anchor) lets an engine keep the
# document's tokens from that line on in its KV cache (a "document run") and reuse them for
# every cursor below it, up to a budget: a jump then costs only the suffix. The anchors are
# segment starts chosen from the top: a segment ends once it holds `stride` tokens, at the
# least indented line within `band` tokens after that point (a top-level statement where
# there is one), so that an edit which adds a few tokens above moves no anchor unless it
# pushes a line at least as little indented across the start of that band. Each anchor is
# placed relative to the one before it, so once an anchor below an edit stays in place,
# every anchor after it does too.


@dataclass(frozen=True)
class AnchoredPrefix:
    """The prefix of a cursor, from an anchor line of the document to the cursor."""

    anchor_line: int
    anchor_offset: int
    prefix: str
    # Tokens from the anchor to the start of the cursor's line (lines counted one by one).
    tokens: int


def _eligible_anchor_line(line: str) -> bool:
    """A line a prefix may well start at: it has code and does not only close a block."""
    stripped = line.strip()
    return bool(stripped) and stripped[0] not in ")]}"


class DocumentSegments:
    """The anchors of one version of a document and the token count of each of its lines.

    Lines are counted one at a time (`count_tokens` on each line's text, its line break
    included), so the figures are those of a line-by-line tokenizer. Counting costs a call
    per line; with `previous` (the segments of an earlier version) only lines it did not
    have are counted.
    """

    def __init__(
        self,
        text: str,
        count_tokens: Callable[[str], int],
        stride: int,
        band: int | None = None,
        previous: DocumentSegments | None = None,
    ) -> None:
        if stride <= 0:
            raise ValueError("stride must be positive")
        self.text = text
        self.stride = stride
        self.band = stride // 4 if band is None else band
        starts = [0]
        position = text.find("\n")
        while position >= 0:
            starts.append(position + 1)
            position = text.find("\n", position + 1)
        self.line_starts = starts
        known: dict[str, int] = previous.line_counts if previous is not None else {}
        counts: dict[str, int] = {}
        # cumulative[i]: tokens of the lines before line i.
        cumulative = [0]
        for index in range(len(starts) - 1):
            line = text[starts[index] : starts[index + 1]]
            count = counts.get(line)
            if count is None:
                count = known.get(line)
                if count is None:
                    count = count_tokens(line)
                counts[line] = count
            cumulative.append(cumulative[-1] + count)
        self.cumulative = cumulative
        self.line_counts: dict[str, int] = counts
        self.anchors = self._find_anchors()

    def _line(self, index: int) -> str:
        end = self.line_starts[index + 1] if index + 1 < len(self.line_starts) else len(self.text)
        return self.text[self.line_starts[index] : end]

    def _find_anchors(self) -> list[int]:
        cumulative, lines = self.cumulative, len(self.line_starts)
        anchors = [0]
        while True:
            threshold = cumulative[anchors[-1]] + self.stride
            first = bisect.bisect_left(cumulative, threshold, lo=anchors[-1] + 1)
            if first >= lines:
                return anchors
            chosen, least_indent = first, -1
            index = first
            while index < lines and cumulative[index] < threshold + self.band:
                line = self._line(index)
                if _eligible_anchor_line(line):
                    indent = indent_width(line)
                    if least_indent < 0 or indent < least_indent:
                        chosen, least_indent = index, indent
                index += 1
            anchors.append(chosen)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset) - 1

    def anchored_prefix(self, offset: int, budget: int) -> AnchoredPrefix | None:
        """The prefix from the farthest anchor at most `budget` tokens above the cursor's line.

        With anchors `stride` apart and a budget of twice that, the prefix holds between
        about one and two strides of tokens (or the whole document above the cursor). None
        where even the nearest anchor above is over budget (a minified line, say).
        """
        if not 0 <= offset <= len(self.text):
            raise ValueError(f"offset {offset} outside document of length {len(self.text)}")
        line = self.line_of(offset)
        tokens_above = self.cumulative[line]
        anchor_cumulative = [self.cumulative[anchor] for anchor in self.anchors]
        index = bisect.bisect_left(anchor_cumulative, tokens_above - budget)
        if index >= len(self.anchors) or self.anchors[index] > line:
            return None
        anchor = self.anchors[index]
        start = self.line_starts[anchor]
        return AnchoredPrefix(
            anchor, start, self.text[start:offset], tokens_above - self.cumulative[anchor]
        )

    def run_text(self, anchor_line: int, budget: int) -> str:
        """The text a run from `anchor_line` should hold: whole lines down to the last line
        start at most `budget` tokens below the anchor (the farthest prefix it can serve)."""
        start = self.cumulative[anchor_line]
        last = bisect.bisect_right(self.cumulative, start + budget) - 1
        return self.text[self.line_starts[anchor_line] : self.line_starts[last]]

    def run_anchors(self, budget: int) -> list[int]:
        """The anchors some cursor line would take its prefix from (the runs worth keeping),
        top first."""
        used: list[int] = []
        index = 0
        for line, tokens_above in enumerate(self.cumulative):
            while index < len(self.anchors) and (
                tokens_above - self.cumulative[self.anchors[index]] > budget
            ):
                index += 1
            reachable = index < len(self.anchors) and self.anchors[index] <= line
            if reachable and (not used or used[-1] != self.anchors[index]):
                used.append(self.anchors[index])
        return used


def anchored_prefix(
    text: str,
    offset: int,
    count_tokens: Callable[[str], int],
    budget: int,
    stride: int,
) -> AnchoredPrefix | None:
    """`DocumentSegments(text, count_tokens, stride).anchored_prefix(offset, budget)`."""
    return DocumentSegments(text, count_tokens, stride).anchored_prefix(offset, budget)
