"""What the finishing filters hand each other, and what they may look at.

Every finishing filter (see chain.py) takes the suggestion so far and the
surroundings it is to be inserted into, and returns the suggestion changed,
unchanged, or None to refuse it. Keeping that one shape lets the chain be a
plain list whose order can be read at a glance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from context.completion_plan import CompletionPlan
from context.indentation import expected_indent
from context.postprocess.suffix_echo import SuffixEcho


@dataclass(frozen=True)
class Suggestion:
    """Text to insert at the cursor, replacing `replace_chars` characters right of it."""

    text: str
    replace_chars: int


@dataclass(frozen=True)
class Surroundings:
    """The document around the cursor, as the filters need it."""

    plan: CompletionPlan
    document: str
    offset: int

    @property
    def line_start(self) -> int:
        """Where the cursor's line starts in the document."""
        return self.plan.cursor.line_start

    @cached_property
    def echo(self) -> SuffixEcho:
        """The code after the cursor, for telling a repeat of it."""
        return SuffixEcho(self.plan.suffix)

    @cached_property
    def expected_indent(self) -> int | None:
        """The indentation a fresh line at the cursor should get, where it is predictable."""
        return expected_indent(self.document, self.line_start, self.plan.language_id)


Filter = Callable[[Suggestion, Surroundings], Suggestion | None]
