"""Document runs with the real default model: after the background has evaluated a file's
runs, a jump anywhere costs only the suffix and the typed part of the line, and the borrowed
cells are exactly what a full evaluation of the prompt computes.

Exactness is checked where it can be checked to the bit: a full evaluation and a run plus the
rest agree to the last bit of the scores when both put the same cells in the same places and
split the prompt into the same decodes. Elsewhere they differ by floating-point rounding
(llama.cpp's kernels sum in an order that depends on the batch and on where the cells lie):
measured here up to 0.5 in a logit even between two full evaluations of one prompt, one with
another document's cells in the cache first, so greedy answers may part at near ties.
"""

from __future__ import annotations

import dataclasses
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from context.prompt_window import DocumentSegments
from engines.completion_engine import ContextSnippet, FimRequest
from engines.llama_engine import LlamaEngine, LlamaEngineConfig
from engines.model_files import assemble_embedded_model
from engines.prompt_cache import PromptCacheConfig

pytestmark = pytest.mark.model

STRIDE, BUDGET = 256, 512
SNIPPETS = (ContextSnippet("helpers.py", "def dedent_all(lines):\n    return lines\n"),)
# SUF and MID markers, and the last line of the prefix tokenized apart from a blank line
# below it (the run holds the two together).
MARKERS_AND_SEAM = 4


class CancelAfter(threading.Event):
    """An event that reads as set from its `polls`-th look on (llama.cpp looks at it once per
    graph node while it evaluates, the run filler once per chunk)."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.polls = polls
        self.looks = 0

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks >= self.polls


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    copied = tmp_path_factory.mktemp("runs") / "textwrap.py"
    copied.write_text(Path(textwrap.__file__).read_text())
    return copied.read_text()


@pytest.fixture(scope="module")
def cached() -> Iterator[LlamaEngine]:
    engine = LlamaEngine(
        LlamaEngineConfig(assemble_embedded_model(), n_ctx=8192, cache=PromptCacheConfig(runs=4))
    )
    yield engine
    engine.close()


def new_engine() -> LlamaEngine:
    return LlamaEngine(
        LlamaEngineConfig(assemble_embedded_model(), n_ctx=4096, cache=PromptCacheConfig(runs=2))
    )


def run_request(segments: DocumentSegments, anchor: int) -> FimRequest:
    return FimRequest(
        segments.run_text(anchor, BUDGET),
        "",
        16,
        document="textwrap.py",
        anchor=anchor,
        file_path="textwrap.py",
        snippets=SNIPPETS,
    )


def jump_request(segments: DocumentSegments, offset: int) -> FimRequest:
    found = segments.anchored_prefix(offset, BUDGET)
    assert found is not None
    text = segments.text
    line = segments.line_of(offset)
    suffix_end = segments.line_starts[min(line + 12, len(segments.line_starts) - 1)]
    return FimRequest(
        found.prefix,
        text[offset:suffix_end],
        16,
        document="textwrap.py",
        anchor=found.anchor_line,
        file_path="textwrap.py",
        snippets=SNIPPETS,
    )


def cursor_after(text: str, needle: str, start: int) -> int:
    return text.index(needle, start) + len(needle)


def test_jumps_across_a_file_cost_the_suffix_and_the_typed_part(
    cached: LlamaEngine, source: str
) -> None:
    segments = DocumentSegments(source, cached.count_tokens, STRIDE)
    assert len(segments.anchors) >= 4, "the file should span several segments"
    third = len(source) // 3
    cursors = [
        cursor_after(source, "        return ", 2 * third),  # down, near the end
        cursor_after(source, "        if ", len(source) // 10),  # up, near the top
        cursor_after(source, "        for ", third),  # another segment, in the middle
        cursor_after(source, "        return ", third + 2000),  # further down
    ]
    requests = [jump_request(segments, offset) for offset in cursors]
    anchors = {request.anchor for request in requests}
    assert len(anchors) >= 3, "the cursors should take their prefixes from different runs"
    for anchor in sorted(a for a in anchors if a is not None):
        while cached.prefill_run(run_request(segments, anchor), threading.Event()) > 0:
            pass
        assert cached.run_pending(run_request(segments, anchor)) == 0

    for request in requests:
        assert cached.pending_tokens(request) < cached.count_tokens(request.prefix) // 2
        answer = "".join(cached.stream(request, threading.Event()))
        stats = cached.last_stats
        typed = request.prefix[request.prefix.rfind("\n") + 1 :]
        allowed = (
            cached.count_tokens(request.suffix) + cached.count_tokens(typed) + MARKERS_AND_SEAM
        )
        assert answer.strip(), request.anchor
        assert stats.run_tokens > 0, request.anchor
        assert stats.evaluated_tokens <= allowed, (request.anchor, stats)
        assert stats.evaluated_tokens + stats.reused_tokens == stats.prompt_tokens
        assert stats.prompt_tokens > 2 * allowed  # the prefix was most of the prompt


def aligned_jump(segments: DocumentSegments, offset: int, engine: LlamaEngine) -> FimRequest:
    """The jump request at `offset`, its head padded so that the prompt's part up to the
    prefix fills whole 64-token chunks: a full evaluation then splits the prompt into the
    same decodes as the run plus the rest, so the two must agree to the last bit."""
    jump = jump_request(segments, offset)
    for padding in range(200):
        snippet = ContextSnippet("helpers.py", SNIPPETS[0].text + "# pad\n" * padding)
        padded = dataclasses.replace(jump, snippets=(snippet,))
        if engine.run_pending(exact_run(padded)) % PromptCacheConfig().chunk == 0:
            return padded
    raise AssertionError("no padding aligns the prompt")


def exact_run(request: FimRequest) -> FimRequest:
    """A run holding exactly the request's lines above the cursor."""
    above = request.prefix[: request.prefix.rfind("\n") + 1]
    return dataclasses.replace(request, prefix=above, suffix="")


@pytest.mark.parametrize("lines_from_end", [3, 60])
def test_borrowed_cells_are_exactly_what_a_full_evaluation_computes(
    source: str, lines_from_end: int
) -> None:
    full, borrowing = new_engine(), new_engine()
    try:
        segments = DocumentSegments(source, full.count_tokens, STRIDE)
        line = segments.line_of(len(source)) - lines_from_end
        jump = aligned_jump(segments, segments.line_starts[line] + 8, borrowing)
        assert borrowing.prefill_run(exact_run(jump), threading.Event()) == 0
        assert borrowing.pending_tokens(jump) < full.pending_tokens(jump) // 4
        full.prefill(jump, threading.Event())
        borrowing.prefill(jump, threading.Event())
        assert np.array_equal(full.next_token_scores(), borrowing.next_token_scores())
        answer = "".join(borrowing.stream(jump, threading.Event()))
        assert borrowing.last_stats.evaluated_tokens == 1  # the prompt was in already
        assert answer == "".join(full.stream(jump, threading.Event()))
    finally:
        full.close()
        borrowing.close()


def test_a_cancelled_run_keeps_its_chunks_and_the_next_call_finishes_it_exactly(
    source: str,
) -> None:
    full, borrowing = new_engine(), new_engine()
    try:
        segments = DocumentSegments(source, full.count_tokens, STRIDE)
        line = segments.line_of(len(source)) - 3
        jump = aligned_jump(segments, segments.line_starts[line] + 8, borrowing)
        run = exact_run(jump)
        # How often one chunk looks at the cancel event, to stop the fill in its third chunk.
        counting = CancelAfter(1 << 62)
        assert borrowing.prefill_run(run, counting, limit_tokens=64) > 0
        total = borrowing.run_pending(run)
        missing = borrowing.prefill_run(run, CancelAfter(int(2.5 * counting.looks)))
        assert 0 < missing < total - 64
        assert borrowing.run_pending(run) == missing
        assert borrowing.prefill_run(run, threading.Event()) == 0
        full.prefill(jump, threading.Event())
        borrowing.prefill(jump, threading.Event())
        assert np.array_equal(full.next_token_scores(), borrowing.next_token_scores())
    finally:
        full.close()
        borrowing.close()
