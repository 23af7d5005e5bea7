"""Document runs in the prompt cache, on a simulated unified KV cache.

The simulation keeps what llama.cpp's unified cache keeps: cells with a position and a set of
sequences. Each evaluated cell records the tokens its sequence held up to it (what its keys
and values depend on), so a test can check that a borrowed cell is exactly what a full
evaluation of the prompt computes. As in llama.cpp, shifting a cell moves it for every
sequence that holds it; the simulation refuses to shift a shared cell, which would corrupt
the other sequence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import pytest

from engines.completion_engine import CompletionCancelled
from engines.kv_reuse import Move
from engines.llama_runtime import DecodeAborted, LlamaContext
from engines.prompt_cache import PromptCache, PromptCacheConfig, _unshared


@dataclass
class Cell:
    position: int
    sequences: set[int]
    history: tuple[int, ...]  # the tokens its keys and values were computed from


@dataclass
class SimulatedKv:
    n_ctx: int = 4096
    can_shift: bool = True
    cells: list[Cell] = field(default_factory=list)
    decoded_tokens: int = 0
    decodes: int = 0
    on_decode: Callable[[int], None] | None = None

    def _of(self, seq: int, start: int = -1, end: int = -1) -> list[Cell]:
        low = 0 if start < 0 else start
        high = 1 << 60 if end < 0 else end
        return [c for c in self.cells if seq in c.sequences and low <= c.position < high]

    def tokens_of(self, seq: int) -> list[tuple[int, ...]]:
        return [c.history for c in sorted(self._of(seq), key=lambda c: c.position)]

    def remove(self, seq: int, start: int = -1, end: int = -1) -> None:
        for cell in self._of(seq, start, end):
            cell.sequences.discard(seq)
        self.cells = [c for c in self.cells if c.sequences]

    def copy(self, source: int, target: int, start: int, end: int) -> None:
        for cell in self._of(source, start, end):
            cell.sequences.add(target)

    def shift(self, seq: int, start: int, end: int, delta: int) -> None:
        for cell in self._of(seq, start, end):
            if len(cell.sequences) > 1:
                raise AssertionError("shifted a cell another sequence holds")
            cell.position += delta

    def last_position(self, seq: int) -> int:
        return max((c.position for c in self._of(seq)), default=-1)

    def decode(
        self,
        tokens: Sequence[int],
        start: int,
        *,
        want_logits: bool,
        seq: int = 0,
        abort: Callable[[], bool] | None = None,
    ) -> None:
        self.decodes += 1
        if self.on_decode is not None:
            self.on_decode(self.decodes)
        if abort is not None and abort():
            raise DecodeAborted()
        assert self.last_position(seq) == start - 1, "llama.cpp wants consecutive positions"
        if len(self.cells) + len(tokens) > self.n_ctx:
            raise RuntimeError("no room in the KV cache")
        held = sorted(self._of(seq), key=lambda c: c.position)
        history = held[-1].history if held else ()
        for index, token in enumerate(tokens):
            history = (*history, token)
            self.cells.append(Cell(start + index, {seq}, history))
        self.decoded_tokens += len(tokens)


def make_cache(kv: SimulatedKv, **config: int) -> PromptCache:
    return PromptCache(cast(LlamaContext, kv), PromptCacheConfig(**{"chunk": 64, **config}))


def exact(kv: SimulatedKv, seq: int, prompt: Sequence[int]) -> bool:
    """Every cell of `seq` is what evaluating `prompt` from the start computes."""
    held = kv.tokens_of(seq)
    return held == [tuple(prompt[: index + 1]) for index in range(len(held))]


RUN_SEQ = PromptCacheConfig().documents + 1  # the first run's sequence
HEAD = [1, 2, 3]  # bos, head, prefix marker
DOCUMENT = list(range(100, 900))
SUF, MID = 7, 8


def prompt_at(
    line: int, suffix: Sequence[int] = (50, 51, 52), typed: Sequence[int] = ()
) -> list[int]:
    return [*HEAD, *DOCUMENT[:line], SUF, *suffix, MID, *typed]


def test_a_request_borrows_the_run_and_evaluates_only_the_rest() -> None:
    kv = SimulatedKv()
    cache = make_cache(kv)
    run = HEAD + DOCUMENT[:600]
    assert cache.fill_run("d", 0, run, threading.Event()) == 0
    prompt = prompt_at(450, typed=(60, 61))
    assert cache.pending("d", prompt) == len(prompt) - (3 + 450)
    before = kv.decoded_tokens
    prefilled = cache.prefill("d", prompt, 16, threading.Event())
    assert prefilled.run_tokens == 3 + 450
    assert prefilled.evaluated == len(prompt) - (3 + 450) == kv.decoded_tokens - before
    assert exact(kv, 0, prompt)
    assert cache.used_cells() == len(kv.cells)
    # The run is untouched and still whole.
    assert exact(kv, RUN_SEQ, run)


def test_without_reuse_nothing_is_borrowed() -> None:
    kv = SimulatedKv()
    cache = make_cache(kv, reuse=False)
    assert cache.fill_run("d", 0, HEAD + DOCUMENT[:300], threading.Event()) == 0
    prompt = prompt_at(200)
    prefilled = cache.prefill("d", prompt, 16, threading.Event())
    assert prefilled.run_tokens == 0 and prefilled.evaluated == len(prompt)


def test_a_run_of_another_document_is_not_borrowed() -> None:
    kv = SimulatedKv()
    cache = make_cache(kv)
    cache.fill_run("other", 0, HEAD + DOCUMENT[:300], threading.Event())
    prompt = prompt_at(200)
    assert cache.prefill("d", prompt, 16, threading.Event()).run_tokens == 0


def test_the_working_sequence_wins_when_it_keeps_more() -> None:
    kv = SimulatedKv()
    cache = make_cache(kv)
    cache.fill_run("d", 0, HEAD + DOCUMENT[:300], threading.Event())
    cache.prefill("d", prompt_at(200, typed=(60,)), 16, threading.Event())
    keystroke = prompt_at(200, typed=(60, 61))
    prefilled = cache.prefill("d", keystroke, 16, threading.Event())
    assert prefilled.run_tokens == 0 and prefilled.evaluated == 1
    assert exact(kv, 0, keystroke)


def test_borrowed_cells_are_never_shifted() -> None:
    """An edit inside the borrowed stretch would move the cells after it: those are shared
    with the run, so they are evaluated instead, and the run stays exact."""
    kv = SimulatedKv()
    cache = make_cache(kv)
    run = HEAD + DOCUMENT[:600]
    cache.fill_run("d", 0, run, threading.Event())
    cache.prefill("d", prompt_at(450), 16, threading.Event())
    edited = [*HEAD, *DOCUMENT[:100], 999, *DOCUMENT[100:450], SUF, 50, 51, 52, MID]
    # The run shares no more with it than the working sequence keeps: no borrowing.
    prefilled = cache.prefill("d", edited, 16, threading.Event())
    assert prefilled.run_tokens == 0
    assert exact(kv, RUN_SEQ, run)
    assert prefilled.evaluated >= 450 - 100  # the shared cells were not moved
    assert cache.used_cells() == len(kv.cells)


def test_unshared_moves_start_past_the_shared_cells() -> None:
    moves = (Move(10, 11, 30), Move(50, 52, 20), Move(80, 80, 5))
    assert _unshared(moves, 35, min_run=8) == (Move(50, 52, 20),)
    assert _unshared(moves, 25, min_run=4) == (Move(25, 26, 15), Move(50, 52, 20), Move(80, 80, 5))


def test_a_cancel_keeps_the_chunks_already_evaluated() -> None:
    kv = SimulatedKv()
    cache = make_cache(kv)
    run = HEAD + DOCUMENT[:500]
    cancel = threading.Event()
    kv.on_decode = lambda count: cancel.set() if count == 3 else None
    missing = cache.fill_run("d", 0, run, cancel)
    assert missing == len(run) - 2 * 64
    assert cache.run_pending("d", 0, run) == missing
    before = kv.decoded_tokens
    assert cache.fill_run("d", 0, run, threading.Event()) == 0
    assert kv.decoded_tokens - before == missing
    assert exact(kv, RUN_SEQ, run)


def test_a_limit_evaluates_part_and_says_what_is_left() -> None:
    kv = SimulatedKv()
    cache = make_cache(kv)
    run = HEAD + DOCUMENT[:500]
    assert cache.fill_run("d", 0, run, threading.Event(), limit=100) == len(run) - 100
    assert kv.decoded_tokens == 100


def test_an_edit_cuts_the_run_back_to_its_first_difference() -> None:
    kv = SimulatedKv()
    cache = make_cache(kv)
    run = HEAD + DOCUMENT[:500]
    cache.fill_run("d", 0, run, threading.Event())
    cache.prefill("d", prompt_at(400), 16, threading.Event())
    edited = HEAD + DOCUMENT[:150] + [999] + DOCUMENT[150:500]
    before = kv.decoded_tokens
    assert cache.fill_run("d", 0, edited, threading.Event()) == 0
    assert kv.decoded_tokens - before == len(edited) - (3 + 150)
    assert exact(kv, RUN_SEQ, edited)
    assert exact(kv, 0, prompt_at(400))  # the request's cells past the edit are its own now
    assert cache.used_cells() == len(kv.cells)


def test_memory_is_counted_once_per_cell_and_runs_are_evicted_least_recent_first() -> None:
    kv = SimulatedKv(n_ctx=1400)
    cache = make_cache(kv, runs=3)
    first = HEAD + DOCUMENT[:400]
    cache.fill_run("a", 0, first, threading.Event())
    cache.prefill("a", [*first[:300], SUF, 5, MID], 16, threading.Event())
    assert cache.used_cells() == len(kv.cells) == 400 + 3 + 3
    cache.fill_run("b", 0, HEAD + DOCUMENT[:400], threading.Event())
    cache.fill_run("c", 0, HEAD + DOCUMENT[:400], threading.Event())
    # No room for a fourth run: the least recently used entries go, shared cells counted once.
    assert cache.fill_run("d", 0, HEAD + DOCUMENT[:400], threading.Event()) == 0
    assert ("a", 0) not in cache.runs()
    assert cache.used_cells() == len(kv.cells) <= kv.n_ctx
    assert set(cache.runs()) <= {("b", 0), ("c", 0), ("d", 0)}


def test_a_run_that_cannot_fit_is_cut_to_what_fits() -> None:
    kv = SimulatedKv(n_ctx=300)
    cache = make_cache(kv)
    assert cache.fill_run("d", 0, HEAD + DOCUMENT[:500], threading.Event()) == 0
    assert cache.runs() == {("d", 0): 300}


@pytest.mark.parametrize("limit", [None, 64])
def test_a_run_key_names_its_anchor(limit: int | None) -> None:
    kv = SimulatedKv()
    cache = make_cache(kv)
    cache.fill_run("d", 0, HEAD + DOCUMENT[:200], threading.Event(), limit=limit)
    cache.fill_run("d", 300, HEAD + DOCUMENT[300:500], threading.Event(), limit=limit)
    assert set(cache.runs()) == {("d", 0), ("d", 300)}
    prompt = [*HEAD, *DOCUMENT[300:350], SUF, 50, MID]
    prefilled = cache.prefill("d", prompt, 16, threading.Event())
    assert prefilled.run_tokens == 3 + 50
    assert exact(kv, 0, prompt)


def test_a_stopped_prefill_keeps_the_suffix_it_had_parked() -> None:
    """A speculation inserts a line before the suffix, moving it; a keystroke stops it
    mid-line. The suffix cells stay in the sequence, so the keystroke's prompt shifts them
    back instead of evaluating the suffix again."""
    kv = SimulatedKv()
    cache = make_cache(kv, chunk=16)
    suffix = list(range(1000, 1150))
    typed = prompt_at(300, suffix=suffix, typed=(60,))
    cache.prefill("d", typed, 16, threading.Event())
    line = list(range(2000, 2040))  # the suggested line, a newline, an indent
    speculation = [*HEAD, *DOCUMENT[:300], *line, SUF, *suffix, MID]
    cancel = threading.Event()
    stopped_after = kv.decodes + 2
    kv.on_decode = lambda count: cancel.set() if count == stopped_after else None
    with pytest.raises(CompletionCancelled):
        cache.prefill("d", speculation, 16, cancel)
    kv.on_decode = None
    assert cache.used_cells() == len(kv.cells)
    assert not kv._of(PromptCacheConfig().documents)  # nothing left parked
    keystroke = prompt_at(300, suffix=suffix, typed=(60, 61))
    before = kv.decoded_tokens
    prefilled = cache.prefill("d", keystroke, 16, threading.Event())
    # The middle marker (the speculation's last token, evaluated, never moved) and the typed two.
    assert prefilled.evaluated == kv.decoded_tokens - before == 3
