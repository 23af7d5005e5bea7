"""The KV cache as fimble keeps it: one sequence per recently used document.

Each document's sequence remembers which tokens sit in the KV cache at which positions. A
new prompt is brought in by a `ReusePlan` (see `kv_reuse`): the common prefix stays, later
matching runs are parked on a spare sequence, shifted into place and re-attached after the
gap before them is evaluated (llama.cpp only accepts new tokens right after a sequence's
last position), and only the gaps are evaluated. Documents are evicted least recently used
first when their tokens would no longer fit in the context.

Document runs: a run holds the prompt's start (the head, the prefix marker) and a document's
text from an anchor line down, evaluated in the background (`fill_run`). A request whose
prompt shares a longer prefix with one of its document's runs than its own sequence can
reuse drops its cells and borrows the run's instead (`llama_memory_seq_cp` on a unified
cache: the cells are shared, nothing is evaluated or copied). A token's keys and values
depend only on the tokens before it, so a borrowed cell is exactly what a full evaluation of
the prompt computes. Shared cells are never moved: a position shift moves a cell for every
sequence that holds it, so a sequence's borrowed cells are left out of its reuse plan's moves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from engines.completion_engine import CompletionCancelled
from engines.kv_reuse import Move, ReusePlan, common_prefix_length, plan_reuse
from engines.llama_runtime import DecodeAborted, LlamaContext

RunKey = tuple[str, int]  # (document, anchor line)


@dataclass
class CachedSequence:
    seq_id: int
    tokens: list[int] = field(default_factory=list)
    ages: list[int] = field(default_factory=list)
    # Its first `lent` cells are shared with the run `lender` (borrowed): never shifted.
    lent: int = 0
    lender: RunKey | None = None
    last_used: int = 0


@dataclass
class DocumentRun:
    """A document's text from an anchor line, evaluated after the prompt's head."""

    seq_id: int
    tokens: list[int] = field(default_factory=list)
    last_used: int = 0


@dataclass(frozen=True)
class PromptCacheConfig:
    documents: int = 4  # sequences kept, one per document
    reuse: bool = True  # False: evaluate every prompt in full (the naive design)
    min_run: int = 8
    max_age: int = 64
    chunk: int = 64  # tokens per llama_decode call during prefill
    runs: int = 8  # document runs kept (any documents), least recently used evicted


@dataclass(frozen=True)
class Prefilled:
    """How a prompt was brought in: the reuse plan applied, and how many of the kept cells
    were borrowed from a document run (then the plan keeps exactly those)."""

    plan: ReusePlan
    run_tokens: int = 0

    @property
    def reused(self) -> int:
        return self.plan.reused

    @property
    def evaluated(self) -> int:
        return self.plan.evaluated


class PromptCache:
    """Brings a document's sequence to a prompt with as little evaluation as possible."""

    def __init__(self, context: LlamaContext, config: PromptCacheConfig) -> None:
        self._context = context
        self._config = config
        self._parking = config.documents
        self._sequences: OrderedDict[str, CachedSequence] = OrderedDict()
        self._free_ids = list(range(config.documents))
        self._runs: dict[RunKey, DocumentRun] = {}
        self._free_run_ids = list(range(config.documents + 1, config.documents + 1 + config.runs))
        self._clock = 0
        self._last_plan: tuple[tuple[list[int], list[int], int, list[int]], ReusePlan] | None = None

    @staticmethod
    def sequences_needed(config: PromptCacheConfig) -> int:
        return config.documents + 1 + config.runs

    def _touch(self, entry: CachedSequence | DocumentRun) -> None:
        self._clock += 1
        entry.last_used = self._clock

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
        self._touch(sequence)
        return sequence

    def used_cells(self) -> int:
        """Cells held by the cache: a cell shared by a sequence and a run counts once."""
        return sum(len(s.tokens) - s.lent for s in self._sequences.values()) + sum(
            len(run.tokens) for run in self._runs.values()
        )

    def _evict_sequence(self, document: str) -> None:
        sequence = self._sequences.pop(document)
        self._context.remove(sequence.seq_id)
        self._free_ids.append(sequence.seq_id)

    def _evict_run(self, key: RunKey) -> None:
        run = self._runs.pop(key)
        self._context.remove(run.seq_id)
        self._free_run_ids.append(run.seq_id)
        for sequence in self._sequences.values():
            if sequence.lender == key:  # its borrowed cells are now its own
                sequence.lent, sequence.lender = 0, None

    def _make_room(self, needed: int, keep: tuple[CachedSequence | DocumentRun, ...]) -> int:
        """Evict sequences and runs (least recently used first, `keep` spared) until
        `needed` more cells fit; returns the cells free then (maybe fewer than `needed`)."""
        entries: list[tuple[int, str | RunKey, bool]] = [
            (s.last_used, document, False)
            for document, s in self._sequences.items()
            if not any(s is kept for kept in keep)
        ] + [
            (run.last_used, key, True)
            for key, run in self._runs.items()
            if not any(run is kept for kept in keep)
        ]
        entries.sort(key=lambda entry: entry[0])
        for _, name, is_run in entries:
            if self.used_cells() + needed <= self._context.n_ctx:
                break
            if is_run:
                assert isinstance(name, tuple)
                self._evict_run(name)
            else:
                assert isinstance(name, str)
                self._evict_sequence(name)
        return self._context.n_ctx - self.used_cells()

    def _plan(self, sequence: CachedSequence, prompt: list[int]) -> ReusePlan:
        """The reuse plan; the last one is remembered while the sequence stays as it was
        (a prompt costed by `pending` is then brought in without matching it again)."""
        if not self._config.reuse:
            return ReusePlan(0, (), len(prompt))
        state = (list(sequence.tokens), list(sequence.ages), sequence.lent, list(prompt))
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
        if sequence.lent > plan.keep and plan.moves:
            plan = ReusePlan(
                plan.keep, _unshared(plan.moves, sequence.lent, self._config.min_run), len(prompt)
            )
        self._last_plan = (state, plan)
        return plan

    def _best_run(self, document: str, prompt: list[int]) -> tuple[DocumentRun | None, int]:
        """The document's run sharing the longest prefix with `prompt` (its last token,
        whose logits start generation, never counts)."""
        if not self._config.reuse:
            return None, 0
        best: DocumentRun | None = None
        best_length = 0
        limit = len(prompt) - 1
        for (run_document, _), run in self._runs.items():
            if run_document == document:
                length = min(common_prefix_length(run.tokens, prompt), limit)
                if length > best_length:
                    best, best_length = run, length
        return best, best_length

    def pending(self, document: str, prompt: list[int], lane: str = "") -> int:
        """How many of `prompt`'s tokens bringing `document`'s sequence (in `lane`) to it
        would evaluate."""
        sequence = self._sequences.get(_sequence_key(document, lane)) or CachedSequence(-1)
        _, borrowable = self._best_run(document, prompt)
        return min(self._plan(sequence, prompt).evaluated, len(prompt) - borrowable)

    def prefill(
        self,
        document: str,
        prompt: list[int],
        reserve: int,
        cancel: threading.Event,
        lane: str = "",
    ) -> Prefilled:
        """Make `document`'s sequence hold `prompt`, logits ready for its last token.

        `reserve` cells are kept free for the tokens that will be generated. A `lane` is a
        second sequence of the same document (a quick start's): it borrows the document's
        runs and leaves the document's own sequence as it was.
        """
        sequence = self._sequence(_sequence_key(document, lane))
        plan = self._plan(sequence, prompt)
        run, borrowable = self._best_run(document, prompt)
        if run is not None and borrowable > plan.reused:
            self._borrow(sequence, run, borrowable, prompt)
            plan = ReusePlan(borrowable, (), len(prompt))
            self._make_room(plan.evaluated + reserve, (sequence, run))
            self._apply(sequence, plan, prompt, cancel)
            return Prefilled(plan, borrowable)
        self._make_room(plan.evaluated + reserve, (sequence,))
        self._apply(sequence, plan, prompt, cancel)
        return Prefilled(plan)

    def _borrow(
        self, sequence: CachedSequence, run: DocumentRun, length: int, prompt: list[int]
    ) -> None:
        """Replace the sequence's cells with the run's first `length` (shared, not copied)."""
        self._context.remove(sequence.seq_id)
        self._context.copy(run.seq_id, sequence.seq_id, 0, length)
        sequence.tokens = prompt[:length]
        sequence.ages = [0] * length
        sequence.lent = length
        sequence.lender = next(key for key, value in self._runs.items() if value is run)
        self._touch(run)

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
        sequence.lent = min(sequence.lent, plan.keep)
        for move in plan.shift_order():
            context.shift(parking, move.old_start, move.old_start + move.length, move.delta)
        sequence.tokens = prompt[: plan.keep]
        sequence.ages = ages[: plan.keep]
        attached = 0
        try:
            for index, (start, end) in enumerate(plan.gaps()):
                self._evaluate(sequence, prompt, start, end, ages, cancel)
                if index < len(plan.moves):
                    self._attach(sequence, plan.moves[index], prompt, ages)
                    attached = index + 1
        except BaseException:
            # The parked runs not yet attached go right after what was evaluated: dropped,
            # the next prompt would evaluate them again (a keystroke after a stopped
            # speculation would pay the whole suffix); kept, its plan shifts them back.
            context.remove(seq, len(sequence.tokens), -1)
            for move in plan.moves[attached:]:
                self._attach(sequence, move, prompt, ages)
            raise
        finally:
            context.remove(parking)

    def _attach(
        self, sequence: CachedSequence, move: Move, prompt: list[int], ages: list[int]
    ) -> None:
        """Put a parked run right after the sequence's last cell (shifted there first where
        a stopped prefill left a gap before its place)."""
        context, parking = self._context, self._parking
        start, stop = len(sequence.tokens), move.new_start + move.length
        if start != move.new_start:
            context.shift(parking, move.new_start, stop, start - move.new_start)
        context.copy(parking, sequence.seq_id, start, start + move.length)
        context.remove(parking, start, start + move.length)
        sequence.tokens.extend(prompt[move.new_start : stop])
        sequence.ages.extend(ages[move.new_start : stop])

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

    def append(self, document: str, token: int, lane: str = "") -> None:
        """Evaluate one generated token after the document's sequence (in `lane`)."""
        sequence = self._sequences[_sequence_key(document, lane)]
        self._context.decode([token], len(sequence.tokens), want_logits=True, seq=sequence.seq_id)
        sequence.tokens.append(token)
        sequence.ages.append(0)

    def cached_tokens(self) -> int:
        return self.used_cells()

    def run_pending(self, document: str, anchor: int, tokens: list[int]) -> int:
        """Tokens `fill_run` would still evaluate to make the run hold `tokens`."""
        run = self._runs.get((document, anchor))
        have = common_prefix_length(run.tokens, tokens) if run is not None else 0
        return len(tokens) - have

    def fill_run(
        self,
        document: str,
        anchor: int,
        tokens: list[int],
        cancel: threading.Event,
        limit: int | None = None,
    ) -> int:
        """Make the run (document, anchor) hold `tokens`, evaluating at most `limit` of them.

        What the run already holds is kept up to its first difference (an edit above cuts it
        back there). A set `cancel` stops at once; the chunks evaluated by then stay.
        Returns how many tokens are still missing. A run that cannot fit the context with
        the current document's sequence is cut to what fits, and counts as ready there.
        """
        if not self._config.reuse or self._config.runs == 0:
            return 0
        key = (document, anchor)
        run = self._runs.get(key)
        if run is None:
            if not self._free_run_ids:
                oldest = min(self._runs, key=lambda name: self._runs[name].last_used)
                self._evict_run(oldest)
            run = DocumentRun(self._free_run_ids.pop(0))
            self._runs[key] = run
        self._touch(run)
        keep = common_prefix_length(run.tokens, tokens)
        if keep < len(run.tokens):
            self._context.remove(run.seq_id, keep, -1)
            del run.tokens[keep:]
            for sequence in self._sequences.values():
                if sequence.lender == key:
                    sequence.lent = min(sequence.lent, keep)
        wanted = len(tokens) - keep if limit is None else min(len(tokens) - keep, max(limit, 0))
        spared: tuple[CachedSequence | DocumentRun, ...] = (run,)
        if document in self._sequences:
            spared = (run, self._sequences[document])
        room = self._make_room(wanted, spared)
        if room < wanted:
            tokens = tokens[: keep + max(room, 0)]
            wanted = len(tokens) - keep
        chunk = self._config.chunk
        for position in range(keep, keep + wanted, chunk):
            if cancel.is_set():
                break
            stop = min(position + chunk, keep + wanted)
            try:
                self._context.decode(
                    tokens[position:stop],
                    position,
                    want_logits=False,
                    seq=run.seq_id,
                    abort=cancel.is_set,
                )
            except DecodeAborted:
                self._context.remove(run.seq_id, position, -1)
                break
            run.tokens.extend(tokens[position:stop])
        return len(tokens) - len(run.tokens)

    def runs(self) -> dict[RunKey, int]:
        """Each run's length in tokens."""
        return {key: len(run.tokens) for key, run in self._runs.items()}


def _unshared(moves: tuple[Move, ...], shared: int, min_run: int) -> tuple[Move, ...]:
    """The moves cut to start at or after `shared` (cells below it are shared; a move that
    keeps fewer than `min_run` tokens is dropped)."""
    kept: list[Move] = []
    for move in moves:
        cut = max(shared - move.old_start, 0)
        if move.length - cut >= min_run:
            kept.append(Move(move.old_start + cut, move.new_start + cut, move.length - cut))
    return tuple(kept)


def _sequence_key(document: str, lane: str) -> str:
    return f"{document}\x00{lane}" if lane else document
