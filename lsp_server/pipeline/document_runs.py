"""Document-anchored prompts: once a document's runs are evaluated, a jump costs the suffix.

A prompt whose prefix starts at one of a few fixed lines of its document (an anchor, see
`context.prompt_window.DocumentSegments`) shares its start with the run the engine keeps for
that anchor: the document's text from the anchor down, evaluated in the background. Such a
request borrows the run's cells and evaluates only what follows the cursor's line start. Until
a run is ready the plain window (half the prefix budget, today's cost) is cheaper and is used.

The anchors are worked out per document text and kept for the few documents used last; all
of this runs on the inference worker thread.
"""

from __future__ import annotations

import dataclasses
import threading

from cachetools import LRUCache

from context import CompletionPlan
from context.prompt_window import DocumentSegments
from engines.completion_engine import CompletionCancelled, CompletionEngine, FimRequest
from lsp_server.pipeline.request import CompletionRequest

MIN_STRIDE_TOKENS = 128
MIN_PREFIX_TOKENS = 256
# A run reserves room for what a request appends after it (suffix, markers, the answer).
RUN_RESERVE_TOKENS = 64

_segments: LRUCache[tuple[str, int], DocumentSegments] = LRUCache(maxsize=8)


def stride(prefix_tokens: int) -> int:
    """Anchors lie this many tokens apart: half the prefix budget, so that an anchored
    prefix holds between half and all of the budget."""
    return max(MIN_STRIDE_TOKENS, prefix_tokens // 2)


def prefix_budget(request: CompletionRequest, prefix_tokens: int) -> int:
    """Code from other files comes out of the prefix budget: the prompt stays as long."""
    tokens = request.cross_file.tokens
    return max(MIN_PREFIX_TOKENS, prefix_tokens - tokens) if tokens else prefix_tokens


def segments_of(engine: CompletionEngine, request: CompletionRequest) -> DocumentSegments:
    key = (request.document, stride(request.settings.prefix_tokens))
    segments = _segments.get(key)
    if segments is None or segments.text != request.text:
        segments = DocumentSegments(request.text, engine.count_tokens, key[1], previous=segments)
        _segments[key] = segments
    return segments


def anchored_plan(
    engine: CompletionEngine, request: CompletionRequest, plan: CompletionPlan, budget: int
) -> CompletionPlan | None:
    """`plan` with its prefix from the farthest anchor within `budget` tokens (None where no
    anchor is: a minified line)."""
    prefix = segments_of(engine, request).anchored_prefix(request.offset, budget)
    if prefix is None:
        return None
    return dataclasses.replace(plan, prefix=prefix.prefix, anchor_line=prefix.anchor_line)


def run_requests(engine: CompletionEngine, request: CompletionRequest) -> list[FimRequest]:
    """The document's runs worth keeping, the one serving the request's cursor first (the
    anchor its prompt starts at: the farthest within the budget, not the nearest), then by
    distance from the cursor, as many as the engine keeps (documentRuns)."""
    segments = segments_of(engine, request)
    budget = request.settings.prefix_tokens
    here = segments.cumulative[request.cursor.line]
    serving = segments.anchored_prefix(request.offset, prefix_budget(request, budget))
    serving_line = serving.anchor_line if serving is not None else None

    def order(line: int) -> tuple[bool, int]:
        return (line != serving_line, abs(segments.cumulative[line] - here))

    anchors = sorted(segments.run_anchors(budget), key=order)
    cross_file = request.cross_file
    return [
        FimRequest(
            segments.run_text(anchor, budget),
            "",
            RUN_RESERVE_TOKENS,
            document=request.document,
            anchor=anchor,
            file_path=cross_file.file_path,
            snippets=request.snippets,
            repo_name=cross_file.repo_name,
        )
        for anchor in anchors[: request.settings.document_runs]
    ]


def up_to_cursor_line(
    engine: CompletionEngine, request: CompletionRequest, run: FimRequest
) -> FimRequest:
    """`run` cut at the start of the cursor's line: what a prompt at the cursor borrows."""
    assert run.anchor is not None
    start = segments_of(engine, request).line_starts[run.anchor]
    cut = request.text.rfind("\n", 0, request.offset) + 1 - start
    return dataclasses.replace(run, prefix=run.prefix[: max(cut, 0)])


def fill_runs(engine: CompletionEngine, request: CompletionRequest, cancel: threading.Event) -> int:
    """Evaluate the document's runs until done or `cancel` (progress is kept chunk by
    chunk); the tokens still missing."""
    missing = 0
    for run in run_requests(engine, request):
        if cancel.is_set():
            raise CompletionCancelled()
        missing += engine.prefill_run(run, cancel)
    return missing
