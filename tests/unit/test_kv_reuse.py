"""Reuse plans for real edits, on the default model's own token ids."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.kv_reuse import ReusePlan, plan_reuse
from engines.llama_runtime import ContextConfig, LlamaContext, LlamaModel
from engines.model_files import resolve_model_path
from engines.prompt_cache import PromptCache, PromptCacheConfig

SOURCE = Path(threading.__file__).read_text()[:6000]
PRE, SUF, MID = "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaModel]:
    loaded = LlamaModel(resolve_model_path(None))
    yield loaded
    loaded.close()


def fim_prompt(model: LlamaModel, text: str, cursor: int) -> list[int]:
    def special(marker: str) -> int:
        token = model.special_token(marker)
        assert token is not None
        return token

    return [
        special(PRE),
        *model.tokenize(text[:cursor]),
        special(SUF),
        *model.tokenize(text[cursor:]),
        special(MID),
    ]


def tiles_the_prompt(plan: ReusePlan, cached: list[int], prompt: list[int]) -> bool:
    """Kept, moved and evaluated ranges cover the prompt once, moved tokens unchanged."""
    covered = [0] * len(prompt)
    for index in range(plan.keep):
        covered[index] += 1
        assert cached[index] == prompt[index]
    for move in plan.moves:
        for index in range(move.length):
            covered[move.new_start + index] += 1
            assert cached[move.old_start + index] == prompt[move.new_start + index]
    for start, end in plan.gaps():
        for index in range(start, end):
            covered[index] += 1
    return covered == [1] * len(prompt)


@pytest.mark.model
def test_a_keystroke_moves_the_suffix_and_evaluates_a_handful(model: LlamaModel) -> None:
    cursor = SOURCE.index("def ", 3000) + 4
    before = fim_prompt(model, SOURCE, cursor)
    typed = SOURCE[:cursor] + "x" + SOURCE[cursor:]
    after = fim_prompt(model, typed, cursor + 1)
    plan = plan_reuse(before, after, can_shift=True)
    assert tiles_the_prompt(plan, before, after)
    assert plan.evaluated <= 4
    assert plan.moves and plan.moves[-1].delta >= 0
    assert plan.prompt_length == len(after)


@pytest.mark.model
def test_a_deleted_line_shifts_the_rest_left(model: LlamaModel) -> None:
    start = SOURCE.index("\n    ", 2000) + 1
    end = SOURCE.index("\n", start) + 1
    assert SOURCE[start:end].strip()
    cursor = SOURCE.index("\n", 4000)
    before = fim_prompt(model, SOURCE, cursor)
    edited = SOURCE[:start] + SOURCE[end:]
    after = fim_prompt(model, edited, cursor - (end - start))
    plan = plan_reuse(before, after, can_shift=True)
    assert tiles_the_prompt(plan, before, after)
    assert plan.keep <= len(model.tokenize(SOURCE[:start])) + 4
    assert any(move.delta < 0 for move in plan.moves)
    assert plan.evaluated <= 4


@pytest.mark.model
def test_a_line_moved_elsewhere_keeps_both_sides(model: LlamaModel) -> None:
    first = SOURCE.index("\n", 1000) + 1
    line_end = SOURCE.index("\n", first) + 1
    line = SOURCE[first:line_end]
    rest = SOURCE[:first] + SOURCE[line_end:]
    target = rest.index("\n", 3000) + 1
    edited = rest[:target] + line + rest[target:]
    cursor = 5000
    before = fim_prompt(model, SOURCE, cursor)
    after = fim_prompt(model, edited, cursor)
    plan = plan_reuse(before, after, can_shift=True)
    assert tiles_the_prompt(plan, before, after)
    assert len(plan.moves) >= 2
    assert plan.evaluated <= len(model.tokenize(line)) + 8


@pytest.mark.model
def test_without_shifting_only_the_prefix_is_kept(model: LlamaModel) -> None:
    cursor = 3000
    before = fim_prompt(model, SOURCE, cursor)
    after = fim_prompt(model, SOURCE[:cursor] + "y" + SOURCE[cursor:], cursor + 1)
    plan = plan_reuse(before, after, can_shift=False)
    assert plan.moves == ()
    assert plan.evaluated == len(after) - plan.keep


@pytest.mark.model
def test_stale_runs_are_evaluated_again(model: LlamaModel) -> None:
    cursor = 3000
    before = fim_prompt(model, SOURCE, cursor)
    after = fim_prompt(model, SOURCE[:cursor] + "y" + SOURCE[cursor:], cursor + 1)
    fresh = plan_reuse(before, after, can_shift=True, ages=[0] * len(before), max_age=64)
    stale = plan_reuse(before, after, can_shift=True, ages=[64] * len(before), max_age=64)
    assert fresh.moves and not stale.moves
    aged = fresh.ages_after([0] * len(before))
    assert max(aged) > 0 and aged[: fresh.keep] == [0] * fresh.keep


@pytest.mark.model
def test_identical_prompt_evaluates_only_its_last_token(model: LlamaModel) -> None:
    prompt = fim_prompt(model, SOURCE, 2500)
    plan = plan_reuse(prompt, prompt, can_shift=True)
    assert plan.evaluated == 1 and plan.gaps() == [(len(prompt) - 1, len(prompt))]


def test_shift_order_never_lands_on_a_run_not_yet_moved() -> None:
    cached = list(range(100))
    prompt = [*cached[:10], 500, 501, *cached[10:40], *cached[45:90], 502, *cached[90:99]]
    plan = plan_reuse(cached, prompt, can_shift=True, min_run=4)
    assert {move.delta for move in plan.moves} >= {2, -3}
    # The parking sequence holds only the runs to move: cell -> position.
    positions = {p: p for m in plan.moves for p in range(m.old_start, m.old_start + m.length)}
    for move in plan.shift_order():
        old = range(move.old_start, move.old_start + move.length)
        moved = {cell for cell, p in positions.items() if p in old}
        for cell in moved:
            positions[cell] += move.delta
        others = [p for cell, p in positions.items() if cell not in moved]
        assert not {positions[cell] for cell in moved} & set(others)


@pytest.mark.model
def test_the_kv_cache_follows_the_plan(model: LlamaModel) -> None:
    """Through llama.cpp: after a keystroke the sequence holds the new prompt exactly."""
    config = PromptCacheConfig(documents=2)
    context = LlamaContext(
        model,
        ContextConfig(n_ctx=4096, n_batch=64, n_seq_max=PromptCache.sequences_needed(config)),
    )
    try:
        cache = PromptCache(context, config)
        text = SOURCE[:2500]
        before = fim_prompt(model, text, 1200)
        after = fim_prompt(model, text[:1200] + "z" + text[1200:], 1201)
        first = cache.prefill("a.py", before, 16, threading.Event())
        assert first.evaluated == len(before)
        cache.prefill("b.py", before[:50], 16, threading.Event())
        second = cache.prefill("a.py", after, 16, threading.Event())
        assert second.evaluated <= 4
        assert context.can_shift
        assert context.last_position(0) == len(after) - 1
        assert cache.cached_tokens() == len(after) + 50
        logits = context.last_logits()
        assert logits.shape == (model.n_vocab,)
    finally:
        context.close()
