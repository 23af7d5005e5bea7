"""Stream step: place each line of a block at the column the cursor's line wants.

Small models often write a block one level off. Below an opener they may write the
body at the opener's own column (too shallow: Python would reject it); on a blank
line they may start four columns right of the cursor and write the rest relative
to that (too deep). The whole block moves right or left, so it reads as if typed at
the cursor, and a later line that leaves the block the model wrote ends it. When
only the first line overshoots, only that line is trimmed (at finishing, by
first_line_whitespace.py); the width it will have is known here already.
"""

from __future__ import annotations

from context.indentation import indent_width, leading_whitespace
from context.postprocess.first_line_whitespace import fit_first_line


class BlockIndentation:
    """Moves the lines of one streamed block to where the cursor's line wants them."""

    def __init__(
        self, line_prefix: str, expected_indent: int | None, opener_indent: int | None = None
    ) -> None:
        self.line_prefix = line_prefix
        self.prefix_is_blank = not line_prefix.strip()
        self._expected = expected_indent
        # Below a block opener in an indentation-scoped language the first line must sit
        # deeper than the opener; a block the model wrote too shallow is moved right.
        self._opener_indent = opener_indent
        self._shift = ""
        self._unshifted_base = 0
        # Columns the block moves left (the model wrote it too deep), decided at its second
        # line while the model's own first-line column is still known.
        self._excess = 0
        self._first_column: int | None = None

    def place(self, line: str, first: bool) -> str | None:
        """The non-blank `line` moved where it belongs, or None where it leaves the block.

        `first` says whether it is the block's first non-blank line.
        """
        if first:
            self._choose_shift(line)
            self._choose_dedent(line)
        elif self._shift and indent_width(line) < self._unshifted_base:
            return None  # the line leaves the block the model wrote too shallow
        else:
            moved = self._move_left(line)
            if moved is None:
                return None
            line = moved
        return self._shift + line

    def width(self, line: str, first: bool) -> int:
        """The column a placed line will start at in the document."""
        if first and self.prefix_is_blank:
            # This line will be placed on the cursor's line, after line_prefix.
            fitted = fit_first_line(line, self.line_prefix, self._expected)
            return indent_width(self.line_prefix + fitted)
        return indent_width(line)

    def _move_left(self, line: str) -> str | None:
        if self._first_column is not None:
            if indent_width(line) < self._first_column:
                self._excess = 0  # only the first line was too deep
            self._first_column = None
        if not self._excess:
            return line
        if indent_width(line) < self._excess or "\t" in leading_whitespace(line):
            return None  # the line leaves the block the model wrote too deep
        return line[self._excess :]

    def _choose_shift(self, first_line: str) -> None:
        """Move the block right when its first line sits no deeper than the opener above."""
        opener, expected = self._opener_indent, self._expected
        if not self.prefix_is_blank or opener is None or expected is None:
            return
        width = self.width(first_line, first=True)
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
        whitespace = self.line_prefix + leading_whitespace(first_line)
        if not self.prefix_is_blank or expected is None or "\t" in whitespace:
            return
        column = indent_width(whitespace)
        if column > expected:
            self._excess = column - expected
            self._first_column = column
