"""Line-by-line judgement of a streamed multi-line (BLOCK) completion.

The engine stops generating the moment the finisher says so, so the end of a
block must be recognised on each completed line: a dedent below the block's
base indentation, a line echoing the suffix, or the line cap.
"""

from __future__ import annotations

from context.indentation import indent_width, leading_whitespace
from context.languages import is_closers_only
from context.postprocess.first_line_whitespace import fit_first_line
from context.postprocess.suffix_echo import SuffixEcho
from context.postprocess.unreachable_code import strands_following_code


class BlockScanner:
    """Accepts completed lines until the generated block is over."""

    def __init__(
        self,
        line_prefix: str,
        expected_indent: int | None,
        echo: SuffixEcho,
        max_lines: int,
        min_indent: int = 0,
        keeps_closing_line: bool = False,
        outer_floor: int | None = None,
        opener_indent: int | None = None,
    ) -> None:
        self._line_prefix = line_prefix
        self._prefix_is_blank = not line_prefix.strip()
        self._expected = expected_indent
        self._echo = echo
        self._max_lines = max_lines
        self._min_indent = min_indent
        self._keeps_closing_line = keeps_closing_line
        self._outer_floor = outer_floor
        # Below a block opener in an indentation-scoped language the first line must sit
        # deeper than the opener; a block the model wrote too shallow is moved right.
        self._opener_indent = opener_indent
        self._shift = ""
        self._unshifted_base = 0
        # Columns the block moves left (the model wrote it too deep), decided at its second
        # line while the model's own first-line column is still known.
        self._excess = 0
        self._first_column: int | None = None
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
        index = self._index
        self._index += 1
        if not line.strip():
            self.kept.append(line)
            self._counted += self._base is not None
            self._check_cap()
            return
        if self._base is None:
            self._choose_shift(line)
            self._choose_dedent(line)
        elif self._shift and indent_width(line) < self._unshifted_base:
            self.done = True  # the line leaves the block the model wrote too shallow
            return
        else:
            if self._first_column is not None:
                if indent_width(line) < self._first_column:
                    self._excess = 0  # only the first line was too deep
                self._first_column = None
            if self._excess:
                if indent_width(line) < self._excess or "\t" in leading_whitespace(line):
                    self.done = True  # the line leaves the block the model wrote too deep
                    return
                line = line[self._excess :]
        line = self._shift + line
        if index == 0 and not self._prefix_is_blank:
            # The model continued the opener's own line: treat it as a one-line answer.
            self.kept.append(line)
            self.done = True
            return
        width = self._width(line)
        floor = self._min_indent if self._base is None else self._base
        if self._base is not None and self._outer_floor is not None:
            # A hole may close inner blocks, down to where the code after it continues.
            floor = min(floor, self._outer_floor)
        following = self._echo.following[0] if self._echo.following else None
        if self._echo.repeats(line, width, first_line=self._base is None) or (
            strands_following_code(line, width, following)
        ):
            if self._base is None and self._prefix_is_blank:
                self.refused_first_line = line.strip()
            self.done = True
            return
        if width < floor:
            # In brace languages the block's own closing line ends it; the suffix lacks it.
            if self._keeps_closing_line and self._base is not None and is_closers_only(line):
                self.kept.append(line)
            self.done = True
            return
        if self._base is None:
            self._base = width
        self.kept.append(line)
        self._counted += 1
        self._check_cap()

    def _choose_shift(self, first_line: str) -> None:
        """Move the block right when its first line sits no deeper than the opener above."""
        opener, expected = self._opener_indent, self._expected
        if not self._prefix_is_blank or opener is None or expected is None:
            return
        width = self._width(first_line)
        if width <= opener < expected and "\t" not in leading_whitespace(first_line):
            self._shift = " " * (expected - width)
            self._unshifted_base = width

    def _choose_dedent(self, first_line: str) -> None:
        """Note how much deeper than the cursor's line wants the first line sits.

        The first line is trimmed to the expected column when it is placed. Where the next
        line sits at or right of where the model put the first one, the model wrote the whole
        block that deep, and its lines move left by as much; otherwise only the first line
        was over-indented.
        """
        expected = self._expected
        whitespace = self._line_prefix + leading_whitespace(first_line)
        if not self._prefix_is_blank or expected is None or "\t" in whitespace:
            return
        column = indent_width(whitespace)
        if column > expected:
            self._excess = column - expected
            self._first_column = column

    def _width(self, line: str) -> int:
        if self._base is None and self._prefix_is_blank:
            # This line will be placed on the cursor's line, after line_prefix.
            fitted = fit_first_line(line, self._line_prefix, self._expected)
            return indent_width(self._line_prefix + fitted)
        return indent_width(line)

    def _check_cap(self) -> None:
        if self._counted >= self._max_lines:
            self.done = True
