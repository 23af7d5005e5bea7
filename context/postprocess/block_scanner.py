"""Stream step: judge a streamed block (BLOCK mode) line by line, and say where it ends.

The engine stops generating the moment the finisher says so, so the end of a
block must be recognised on each completed line. After the line is placed
(block_indentation.py), in this order: a first line continuing the text left of
the cursor is a one-line answer; a line repeating the suffix (suffix_echo.py) or
stranding the code after the cursor (unreachable_code.py) ends the block, and on
the first line refuses it; a dedent below the block's first line (or, for a hole,
below the code after it) ends it; so does the line cap.
"""

from __future__ import annotations

from context.languages import is_closers_only
from context.postprocess.block_indentation import BlockIndentation
from context.postprocess.suffix_echo import SuffixEcho
from context.postprocess.unreachable_code import strands_following_code


class BlockScanner:
    """Accepts completed lines until the generated block is over."""

    def __init__(
        self,
        indentation: BlockIndentation,
        echo: SuffixEcho,
        max_lines: int,
        min_indent: int = 0,
        keeps_closing_line: bool = False,
        outer_floor: int | None = None,
    ) -> None:
        self._indentation = indentation
        self._echo = echo
        self._max_lines = max_lines
        self._min_indent = min_indent
        self._keeps_closing_line = keeps_closing_line
        self._outer_floor = outer_floor
        self._base: int | None = None
        self._index = 0
        self._counted = 0
        self.kept: list[str] = []
        self.done = False
        # The first line on a blank line, when it was refused: it repeated the next line, or
        # it made the code after it unreachable.
        self.refused_first_line: str | None = None

    def add(self, line: str) -> None:
        """Judge one completed line; sets `done` when the block has ended."""
        if self.done:
            return
        index, first = self._index, self._base is None
        self._index += 1
        if not line.strip():
            self.kept.append(line)
            self._counted += not first
            self._check_cap()
            return
        placed = self._indentation.place(line, first)
        if placed is None:
            self.done = True
        elif index == 0 and not self._indentation.prefix_is_blank:
            # The model continued the opener's own line: treat it as a one-line answer.
            self.kept.append(placed)
            self.done = True
        else:
            self._judge(placed, first)

    def _judge(self, line: str, first: bool) -> None:
        """Keep a placed code line, or end the block before it."""
        width = self._indentation.width(line, first)
        following = self._echo.following[0] if self._echo.following else None
        if self._echo.repeats(line, width, first_line=first) or (
            strands_following_code(line, width, following)
        ):
            if first and self._indentation.prefix_is_blank:
                self.refused_first_line = line.strip()
            self.done = True
            return
        if width < self._floor():
            # In brace languages the block's own closing line ends it; the suffix lacks it.
            if self._keeps_closing_line and not first and is_closers_only(line):
                self.kept.append(line)
            self.done = True
            return
        if first:
            self._base = width
        self.kept.append(line)
        self._counted += 1
        self._check_cap()

    def _floor(self) -> int:
        """The shallowest indentation a line may have and stay in the block."""
        if self._base is None:
            return self._min_indent
        if self._outer_floor is not None:
            # A hole may close inner blocks, down to where the code after it continues.
            return min(self._base, self._outer_floor)
        return self._base

    def _check_cap(self) -> None:
        if self._counted >= self._max_lines:
            self.done = True
