"""Which cached tokens a new prompt can keep, and where they must move: pure arithmetic.

A keystroke changes a few tokens in the middle of a fill-in-the-middle prompt (the end of
the prefix) and moves everything after them (the suffix) by as many positions. The KV cache
keeps its common prefix with the new prompt as it is; later runs of matching tokens can be
moved into place (a position shift, no evaluation) where the model's memory can shift. Only
the gaps between kept runs are evaluated.

A moved run's keys and values were computed before the change upstream of it; `ages` counts,
per cached token, how many tokens upstream changed since it was evaluated, and a run whose
age would pass `max_age` is evaluated afresh instead of moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True)
class Move:
    """`length` cached tokens at `old_start` are kept and moved to `new_start`."""

    old_start: int
    new_start: int
    length: int

    @property
    def delta(self) -> int:
        return self.new_start - self.old_start


@dataclass(frozen=True)
class ReusePlan:
    """Keep the first `keep` tokens, move `moves`, evaluate everything else."""

    keep: int
    moves: tuple[Move, ...]
    prompt_length: int

    @property
    def reused(self) -> int:
        return self.keep + sum(move.length for move in self.moves)

    @property
    def evaluated(self) -> int:
        return self.prompt_length - self.reused

    def gaps(self) -> list[tuple[int, int]]:
        """The [start, end) prompt ranges to evaluate: one before each move (maybe empty),
        and the last one after them (never empty)."""
        ranges: list[tuple[int, int]] = []
        position = self.keep
        for move in self.moves:
            ranges.append((position, move.new_start))
            position = move.new_start + move.length
        ranges.append((position, self.prompt_length))
        return ranges

    def shift_order(self) -> list[Move]:
        """Moves in an order in which no moved run lands on one not yet moved.

        Runs going right move rightmost first, then runs going left move leftmost first.
        """
        right = sorted((m for m in self.moves if m.delta > 0), key=lambda m: -m.old_start)
        left = sorted((m for m in self.moves if m.delta < 0), key=lambda m: m.old_start)
        return right + left

    def ages_after(self, ages: Sequence[int]) -> list[int]:
        """The staleness of each prompt token once the plan is applied."""
        result = list(ages[: self.keep]) + [0] * (self.prompt_length - self.keep)
        for move, changed in zip(self.moves, _changed_upstream(self), strict=True):
            for index in range(move.length):
                result[move.new_start + index] = ages[move.old_start + index] + changed
        return result


def common_prefix_length(left: Sequence[int], right: Sequence[int]) -> int:
    limit = min(len(left), len(right))
    index = 0
    while index < limit and left[index] == right[index]:
        index += 1
    return index


def _changed_upstream(plan: ReusePlan) -> list[int]:
    """Per move: tokens evaluated or dropped before it (what its cached state did not see)."""
    changed: list[int] = []
    new_end = old_end = plan.keep
    total = 0
    for move in plan.moves:
        total += (move.new_start - new_end) + (move.old_start - old_end)
        changed.append(total)
        new_end = move.new_start + move.length
        old_end = move.old_start + move.length
    return changed


def plan_reuse(
    cached: Sequence[int],
    prompt: Sequence[int],
    *,
    can_shift: bool,
    min_run: int = 8,
    ages: Sequence[int] | None = None,
    max_age: int = 64,
) -> ReusePlan:
    """The cheapest valid way from the `cached` tokens to `prompt`.

    The prompt's last token is always evaluated: its logits start generation.
    """
    limit = max(len(prompt) - 1, 0)
    keep = min(common_prefix_length(cached, prompt), limit)
    if not can_shift or keep >= limit:
        return ReusePlan(keep, (), len(prompt))
    matcher = SequenceMatcher(None, cached[keep:], prompt[keep:limit], autojunk=False)
    moves = tuple(
        Move(keep + block.a, keep + block.b, block.size)
        for block in matcher.get_matching_blocks()
        if block.size >= min_run
    )
    plan = ReusePlan(keep, moves, len(prompt))
    if ages is None:
        return plan
    fresh = tuple(
        move
        for move, changed in zip(moves, _changed_upstream(plan), strict=True)
        if max(ages[move.old_start : move.old_start + move.length]) + changed <= max_age
    )
    return ReusePlan(keep, fresh, len(prompt)) if fresh != moves else plan
