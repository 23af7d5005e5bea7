"""Stream step and filter: refuse lines that merely repeat the code after the cursor.

Fill-in-the-middle models often finish their insertion and then carry on by
reproducing the suffix. While streaming, such a line ends the block (the block
scanner asks `SuffixEcho.repeats`), which stops generation early; a first line
that does it refuses the block. After the stream, a suggestion that is nothing but
the rest of the line or the next lines is refused (`refuse_suffix_repeat`), so no
duplicate code is shown.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from context.completion_plan import CompletionMode
from context.indentation import indent_width
from context.languages import is_identifier_char

if TYPE_CHECKING:
    from context.postprocess.suggestion import Suggestion, Surroundings

_COMPARED_LINES = 5
_MIN_DISTINCTIVE_CHARS = 8
_NEAR_COPY_LINES = 3
_NEAR_COPY_RATIO = 0.8


def _similar(generated: str, existing: str) -> bool:
    if generated == existing:
        return True
    matcher = difflib.SequenceMatcher(None, generated, existing, autojunk=False)
    return matcher.quick_ratio() >= _NEAR_COPY_RATIO and matcher.ratio() >= _NEAR_COPY_RATIO


class SuffixEcho:
    """The first non-blank lines after the cursor's line, for repetition checks."""

    def __init__(self, suffix: str) -> None:
        lines = suffix.split("\n")
        self.rest_of_line = lines[0].strip()
        self.following = [line.rstrip() for line in lines[1:] if line.strip()][:_COMPARED_LINES]

    def repeats(self, line: str, width: int, first_line: bool = False) -> bool:
        """Whether a generated line (at indentation width `width`) repeats the suffix.

        The first line of a suggestion only counts as a repeat of the very next line: code
        legitimately repeats a statement found a few lines further down (`return 'No'`).
        Later lines also stop on a near-copy of the next lines (the model rewriting what
        already follows, e.g. `distance = ...` for `new_distance = ...`), or on an exact copy
        of any compared line at the same indentation (the model re-writing a loop whose body
        already follows).
        """
        stripped = line.strip()
        if not stripped or not self.following:
            return False
        first = self.following[0]
        if stripped == first.strip():
            # A lone `}` or `)` matches too easily; require the same column for those.
            return any(map(is_identifier_char, stripped)) or width == indent_width(first)
        if first_line or len("".join(stripped.split())) < _MIN_DISTINCTIVE_CHARS:
            return False
        return any(
            indent_width(candidate) == width
            and (
                stripped == candidate.strip()
                or (index < _NEAR_COPY_LINES and _similar(stripped, candidate.strip()))
            )
            for index, candidate in enumerate(self.following)
        )

    def starts_with(self, lines: list[str]) -> bool:
        """Whether the non-blank lines given are exactly the next suffix lines."""
        wanted = [line.strip() for line in lines if line.strip()]
        if not wanted or len(wanted) > len(self.following):
            return False
        return wanted == [line.strip() for line in self.following[: len(wanted)]]


def refuse_suffix_repeat(suggestion: Suggestion, site: Surroundings) -> Suggestion | None:
    """None where the suggestion only repeats what follows the cursor, else the suggestion.

    In LINE and SHORT mode its first line may not be the rest of the cursor's line; a
    one-line suggestion may not complete the cursor's line into the next line; a longer
    one may not be the next lines.
    """
    plan, echo = site.plan, site.echo
    lines = suggestion.text.split("\n")
    if plan.mode is not CompletionMode.BLOCK and lines[0].strip() == echo.rest_of_line:
        return None
    if len(lines) == 1 and echo.following:
        repeats = (plan.line_prefix + lines[0]).strip() == echo.following[0].strip()
    else:
        repeats = echo.starts_with(lines)
    return None if repeats else suggestion
