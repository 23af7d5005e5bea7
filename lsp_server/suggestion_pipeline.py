"""From a document and a cursor to one post-processed suggestion.

The same path serves the language server and `fimble complete`: plan the context (what to
complete, which text to show the model), stream the model's text into the finisher, stop
generating the moment the finisher has what it needs, and post-process. It runs on the
inference worker thread and knows nothing of LSP.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Generator

from context import CompletionFinisher, CompletionMode, CompletionPlan, Suggestion, plan_completion
from context.completion_plan import PREFIX_ANCHOR_LINES
from engines.completion_engine import (
    CompletionEngine,
    ContextSnippet,
    FimRequest,
    GenerationStats,
)
from lsp_server.settings import Settings

LINE_MODE_MAX_TOKENS = 48
MIN_PREFIX_TOKENS = 256


@dataclasses.dataclass(frozen=True)
class CrossFileRequest:
    """Where the document is and the code from other files chosen for it (and its cost)."""

    file_path: str = ""
    repo_name: str = ""
    snippets: tuple[ContextSnippet, ...] = ()
    tokens: int = 0


# Measured on HumanEval (every 10th single-line, every 50th multi-line task): 0.25 stops
# early without costing a task; 0.1 cut 8 of 117 multi-line tasks short.
END_PROBABILITY = 0.25


# A quick start's prompt: this share of quickStartTokens before the cursor, the rest after,
# its window starting on multiples of this many lines.
QUICK_PREFIX_SHARE = 0.85
QUICK_ANCHOR_LINES = 4
QUICK_DOCUMENT_SUFFIX = "#nearby"


def plan_for(
    engine: CompletionEngine,
    text: str,
    offset: int,
    language_id: str,
    settings: Settings,
    quick: bool = False,
) -> CompletionPlan | None:
    if quick:
        prefix_tokens = int(settings.quick_start_tokens * QUICK_PREFIX_SHARE)
        suffix_tokens = settings.quick_start_tokens - prefix_tokens
        anchor_lines = QUICK_ANCHOR_LINES
    else:
        prefix_tokens, suffix_tokens = settings.prefix_tokens, settings.suffix_tokens
        anchor_lines = PREFIX_ANCHOR_LINES
    plan = plan_completion(
        text, offset, language_id, engine.count_tokens, prefix_tokens, suffix_tokens, anchor_lines
    )
    if plan is None:
        return None
    return dataclasses.replace(plan, max_lines=min(plan.max_lines, settings.max_lines))


def model_suffix(plan: CompletionPlan) -> str:
    """The suffix as the model should see it.

    On a blank line the hole is the line itself: the suffix starts at the next line, the
    shape FIM models were trained on for whole-line holes (an extra empty line in between
    makes small models start a new top-level block instead).
    """
    blank_line = not plan.line_prefix.strip() and not plan.rest_of_line.strip()
    if blank_line and plan.suffix.startswith("\n"):
        return plan.suffix[1:]
    return plan.suffix


def fim_request(
    plan: CompletionPlan,
    settings: Settings,
    heal: bool,
    document: str,
    cross_file: CrossFileRequest,
) -> FimRequest:
    max_tokens = settings.max_tokens
    if plan.mode is not CompletionMode.BLOCK:
        max_tokens = min(max_tokens, LINE_MODE_MAX_TOKENS)
    multi_line = plan.mode is CompletionMode.BLOCK or not plan.rest_of_line.strip()
    return FimRequest(
        plan.prefix,
        model_suffix(plan),
        max_tokens,
        heal_last_token=heal,
        end_probability_at_line_break=END_PROBABILITY if multi_line else 0.0,
        document=document,
        file_path=cross_file.file_path,
        snippets=cross_file.snippets,
        repo_name=cross_file.repo_name,
    )


def prefill(
    engine: CompletionEngine,
    text: str,
    offset: int,
    language_id: str,
    settings: Settings,
    cancel: threading.Event,
    document: str,
    cross_file: CrossFileRequest | None = None,
) -> None:
    """Evaluate the prompt a request at `offset` would send, ahead of the request."""
    cross_file = cross_file or CrossFileRequest()
    settings = _with_room_for(cross_file, settings)
    plan = plan_for(engine, text, offset, language_id, settings)
    if plan is not None:
        engine.prefill(fim_request(plan, settings, True, document, cross_file), cancel)


def _with_room_for(cross_file: CrossFileRequest, settings: Settings) -> Settings:
    """Code from other files comes out of the prefix budget: the prompt stays as long."""
    if not cross_file.tokens:
        return settings
    reduced = max(MIN_PREFIX_TOKENS, settings.prefix_tokens - cross_file.tokens)
    return dataclasses.replace(settings, prefix_tokens=reduced)


def suggest(
    engine: CompletionEngine,
    text: str,
    offset: int,
    language_id: str,
    settings: Settings,
    cancel: threading.Event,
    on_text: Callable[[str], None] | None = None,
    document: str = "",
    cross_file: CrossFileRequest | None = None,
    typing: bool = False,
    passes: list[GenerationStats] | None = None,
) -> Suggestion | None:
    """The suggestion at `offset`, or None where nothing sensible fits (each model pass's
    figures are appended to `passes`).

    While the user is `typing` (an automatic request, typingDecodeMs on), generation stops at
    the first line break after typingDecodeMs of decoding, once the lines so far stand on
    their own, and a refused answer gets no second opinion (the next keystroke asks again
    sooner than a second pass would answer). With quickStartTokens (and the prompt cache) on,
    a typing request whose prompt would cost more than that to evaluate gets a short one
    around the cursor, cached apart (the full one keeps growing in idle prefills under the
    document's own sequence).
    """
    cross_file = cross_file or CrossFileRequest()
    settings = _with_room_for(cross_file, settings)
    plan = plan_for(engine, text, offset, language_id, settings)
    if plan is None:
        return None
    decode_budget_s = settings.typing_decode_ms / 1000 if typing else 0.0
    second_opinion = decode_budget_s == 0
    if typing and settings.prompt_cache and settings.quick_start_tokens > 0:
        full = fim_request(plan, settings, True, document, cross_file)
        if engine.pending_tokens(full) > settings.quick_start_tokens:
            plan = plan_for(engine, text, offset, language_id, settings, quick=True) or plan
            document += QUICK_DOCUMENT_SUFFIX
            cross_file = CrossFileRequest(cross_file.file_path, cross_file.repo_name)
    suggestion = None
    # Token healing first (the prompt's last token is re-chosen by the model); where that
    # answer is unusable, plainly continuing the text is the second opinion.
    for heal in (True, False):
        request = fim_request(plan, settings, heal, document, cross_file)
        finisher = CompletionFinisher(plan, text, offset, settings.max_lines)
        suggestion = _finish(engine.stream(request, cancel), finisher, on_text, decode_budget_s)
        _count_pass(engine, passes)
        if suggestion is None and finisher.refused_first_line and second_opinion:
            # The model's first choice on a blank line repeats the next line (it saw nothing
            # missing) or would leave the code below unreachable (`return x` in the middle
            # of a body): its next-best start is the second opinion.
            request = dataclasses.replace(request, avoid_start=finisher.refused_first_line)
            finisher = CompletionFinisher(plan, text, offset, settings.max_lines)
            suggestion = _finish(engine.stream(request, cancel), finisher, on_text, decode_budget_s)
            _count_pass(engine, passes)
        if suggestion is not None or not engine.last_stats.healed or not second_opinion:
            break
    return suggestion


def _count_pass(engine: CompletionEngine, passes: list[GenerationStats] | None) -> None:
    if passes is not None:
        passes.append(dataclasses.replace(engine.last_stats))


def request_cost(passes: list[GenerationStats]) -> GenerationStats:
    """One request's figures from those of its model passes."""
    total = passes[0] if passes else GenerationStats(passes=0)
    for later in passes[1:]:
        total = total.then(later)
    return total


def _finish(
    stream: Generator[str, None, None],
    finisher: CompletionFinisher,
    on_text: Callable[[str], None] | None,
    decode_budget_s: float,
) -> Suggestion | None:
    """Feed the stream to the finisher; past `decode_budget_s` of decoding (0: none), stop
    at a line break once the lines so far stand on their own."""
    first_piece_at: float | None = None
    try:
        for piece in stream:
            if first_piece_at is None:
                first_piece_at = time.perf_counter()
            if on_text is not None:
                on_text(piece)
            if finisher.feed(piece):
                break
            if (
                decode_budget_s > 0
                and "\n" in piece
                and time.perf_counter() - first_piece_at > decode_budget_s
                and finisher.stop_early()
            ):
                break
    finally:
        stream.close()
    return finisher.finish()
