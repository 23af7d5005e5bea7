"""The KV cache as fimble keeps it: one sequence per recently used document.

Each document's sequence remembers which tokens sit in the KV cache at which positions. A
new prompt is brought in by a `ReusePlan` (see `kv_reuse`): the common prefix stays, later
matching runs are parked on a spare sequence, shifted into place and re-attached after the
gap before them is evaluated (llama.cpp only accepts new tokens right after a sequence's
last position), and only the gaps are evaluated. Documents are evicted least recently used
first when their tokens would no longer fit in the context.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from engines.completion_engine import CompletionCancelled
from engines.kv_reuse import ReusePlan, plan_reuse
from engines.llama_runtime import DecodeAborted, LlamaContext


@dataclass
class CachedSequence:
    seq_id: int
    tokens: list[int] = field(default_factory=list)
    ages: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PromptCacheConfig:
    documents: int = 4  # sequences kept, one per document
    reuse: bool = True  # False: evaluate every prompt in full (the naive design)
    min_run: int = 8
    max_age: int = 64
    chunk: int = 64  # tokens per llama_decode call during prefill


class PromptCache:
    """Brings a document's sequence to a prompt with as little evaluation as possible."""

    def __init__(self, context: LlamaContext, config: PromptCacheConfig) -> None:
        self._context = context
        self._config = config
        self._parking = config.documents
        self._sequences: OrderedDict[str, CachedSequence] = OrderedDict()
        self._free_ids = list(range(config.documents))
        self._last_plan: tuple[tuple[list[int], list[int], list[int]], ReusePlan] | None = None

    @staticmethod
    def sequences_needed(config: PromptCacheConfig) -> int:
        return config.documents + 1

    def _sequence(self, document: str) -> CachedSequence:
        sequence = self._sequences.get(document)
        if sequence is None:
            if not self._free_ids:
                _, evicted = self._sequences.popitem(last=False)
                self._context.remove(evicted.seq_id)
                self._free_ids.append(evicted.seq_id)
            sequence = CachedSequence(self._free_ids.pop(0))
            self._sequences[document] = sequence
        self._sequences.move_to_end(document)
        return sequence

    def _make_room(self, keep: CachedSequence, needed: int) -> None:
        """Evict other documents (least recent first) until `needed` more cells fit."""
        used = sum(len(s.tokens) for s in self._sequences.values())
        for document in list(self._sequences):
            if used + needed <= self._context.n_ctx:
                return
            sequence = self._sequences[document]
            if sequence is keep:
                continue
            used -= len(sequence.tokens)
            self._context.remove(sequence.seq_id)
            self._free_ids.append(sequence.seq_id)
            del self._sequences[document]

    def _plan(self, sequence: CachedSequence, prompt: list[int]) -> ReusePlan:
        """The reuse plan; the last one is remembered while the sequence stays as it was
        (a prompt costed by `pending` is then brought in without matching it again)."""
        if not self._config.reuse:
            return ReusePlan(0, (), len(prompt))
        state = (list(sequence.tokens), list(sequence.ages), list(prompt))
        if self._last_plan is not None and self._last_plan[0] == state:
            return self._last_plan[1]
        plan = plan_reuse(
            sequence.tokens,
            prompt,
            can_shift=self._context.can_shift,
            min_run=self._config.min_run,
            ages=sequence.ages,
            max_age=self._config.max_age,
        )
        self._last_plan = (state, plan)
        return plan

    def pending(self, document: str, prompt: list[int]) -> int:
        """How many of `prompt`'s tokens bringing `document`'s sequence to it would evaluate."""
        sequence = self._sequences.get(document) or CachedSequence(-1)
        return self._plan(sequence, prompt).evaluated

    def prefill(
        self, document: str, prompt: list[int], reserve: int, cancel: threading.Event
    ) -> ReusePlan:
        """Make `document`'s sequence hold `prompt`, logits ready for its last token.

        `reserve` cells are kept free for the tokens that will be generated.
        """
        sequence = self._sequence(document)
        plan = self._plan(sequence, prompt)
        self._make_room(sequence, plan.evaluated + reserve)
        self._apply(sequence, plan, prompt, cancel)
        return plan

    def _apply(
        self,
        sequence: CachedSequence,
        plan: ReusePlan,
        prompt: list[int],
        cancel: threading.Event,
    ) -> None:
        context, seq, parking = self._context, sequence.seq_id, self._parking
        ages = plan.ages_after(sequence.ages) if self._config.reuse else [0] * len(prompt)
        for move in plan.moves:
            context.copy(seq, parking, move.old_start, move.old_start + move.length)
        context.remove(seq, plan.keep, -1)
        for move in plan.shift_order():
            context.shift(parking, move.old_start, move.old_start + move.length, move.delta)
        sequence.tokens = prompt[: plan.keep]
        sequence.ages = ages[: plan.keep]
        try:
            for index, (start, end) in enumerate(plan.gaps()):
                self._evaluate(sequence, prompt, start, end, ages, cancel)
                if index < len(plan.moves):
                    move = plan.moves[index]
                    stop = move.new_start + move.length
                    context.copy(parking, seq, move.new_start, stop)
                    sequence.tokens.extend(prompt[move.new_start : stop])
                    sequence.ages.extend(ages[move.new_start : stop])
        except BaseException:
            context.remove(seq, len(sequence.tokens), -1)
            raise
        finally:
            context.remove(parking)

    def _evaluate(
        self,
        sequence: CachedSequence,
        prompt: list[int],
        start: int,
        end: int,
        ages: list[int],
        cancel: threading.Event,
    ) -> None:
        chunk = self._config.chunk
        for position in range(start, end, chunk):
            if cancel.is_set():
                raise CompletionCancelled()
            stop = min(position + chunk, end)
            try:
                self._context.decode(
                    prompt[position:stop],
                    position,
                    want_logits=stop == len(prompt),
                    seq=sequence.seq_id,
                    abort=cancel.is_set,
                )
            except DecodeAborted:
                raise CompletionCancelled() from None
            sequence.tokens.extend(prompt[position:stop])
            sequence.ages.extend(ages[position:stop])

    def append(self, document: str, token: int) -> None:
        """Evaluate one generated token after the document's sequence."""
        sequence = self._sequences[document]
        self._context.decode([token], len(sequence.tokens), want_logits=True, seq=sequence.seq_id)
        sequence.tokens.append(token)
        sequence.ages.append(0)

    def cached_tokens(self) -> int:
        return sum(len(s.tokens) for s in self._sequences.values())
