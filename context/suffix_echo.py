"""Recognising generated lines that merely repeat the code after the cursor.

Fill-in-the-middle models often finish their insertion and then carry on by
reproducing the suffix. Those lines must be cut as soon as they appear, both
to stop generation early and to avoid showing duplicate code.
"""

from __future__ import annotations

from context.indentation import indent_width
from context.languages import is_identifier_char

_COMPARED_LINES = 5
_MIN_DISTINCTIVE_CHARS = 8


class SuffixEcho:
    """The first non-blank lines after the cursor's line, for repetition checks."""

    def __init__(self, suffix: str) -> None:
        lines = suffix.split("\n")
        self.rest_of_line = lines[0].strip()
        self.following = [line.rstrip() for line in lines[1:] if line.strip()][:_COMPARED_LINES]

    def repeats(self, line: str, width: int) -> bool:
        """Whether a generated line (at indentation width `width`) repeats the suffix."""
        stripped = line.strip()
        if not stripped or not self.following:
            return False
        first = self.following[0]
        if stripped == first.strip():
            # A lone `}` or `)` matches too easily; require the same column for those.
            return any(map(is_identifier_char, stripped)) or width == indent_width(first)
        if len("".join(stripped.split())) < _MIN_DISTINCTIVE_CHARS:
            return False
        return any(stripped == candidate.strip() for candidate in self.following)

    def starts_with(self, lines: list[str]) -> bool:
        """Whether the non-blank lines given are exactly the next suffix lines."""
        wanted = [line.strip() for line in lines if line.strip()]
        if not wanted or len(wanted) > len(self.following):
            return False
        return wanted == [line.strip() for line in self.following[: len(wanted)]]
