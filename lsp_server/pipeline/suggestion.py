"""From a completion request to one post-processed suggestion and what it cost.

Plan the context (what to complete, which text to show the model), stream the model's text
into the finisher (the post-processing chain), stop generating the moment the finisher has
what it needs, and ask again, steered, where the first answer was refused. It runs on the
inference worker thread.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

from context import CompletionFinisher, CompletionMode, CompletionPlan, Suggestion, plan_completion
from context.completion_plan import PREFIX_ANCHOR_LINES
from engines.completion_engine import (
    CompletionCancelled,
    CompletionEngine,
    FimRequest,
    GenerationStats,
)
from lsp_server.pipeline.document_runs import (
    anchored_plan,
    prefix_budget,
    run_requests,
    stride,
    up_to_cursor_line,
)
from lsp_server.pipeline.request import CompletionRequest

LINE_MODE_MAX_TOKENS = 48

# Measured on HumanEval (every 10th single-line, every 50th multi-line task): 0.25 stops
# early without costing a task; 0.1 cut 8 of 117 multi-line tasks short.
END_PROBABILITY = 0.25

# A quick start's prompt: this share of quickStartTokens before the cursor, the rest after,
# its window starting on multiples of this many lines.
QUICK_PREFIX_SHARE = 0.85
QUICK_ANCHOR_LINES = 4
QUICK_LANE = "nearby"
# A speculation is asked only where its prompt costs at most the suffix budget plus this.
SPECULATION_SLACK_TOKENS = 64


@dataclass(frozen=True)
class Outcome:
    """A request's answer (None: nothing sensible fits) and its figures over every pass."""

    suggestion: Suggestion | None
    stats: GenerationStats
    cancelled: bool = False

    def stopped_if(self, cancel: threading.Event) -> Outcome:
        """This outcome, marked cancelled where `cancel` was set meanwhile (superseded)."""
        return dataclasses.replace(self, cancelled=True) if cancel.is_set() else self


def plan_for(
    engine: CompletionEngine, request: CompletionRequest, quick: bool = False
) -> CompletionPlan | None:
    """The plan with a plain window prefix: half the prefix budget (what a request costs
    before its document's runs are in), or a quick start's."""
    settings = request.settings
    if quick:
        prefix_tokens = int(settings.quick_start_tokens * QUICK_PREFIX_SHARE)
        suffix_tokens = settings.quick_start_tokens - prefix_tokens
        anchor_lines = QUICK_ANCHOR_LINES
    else:
        prefix_tokens = prefix_budget(request, stride(settings.prefix_tokens))
        suffix_tokens = settings.suffix_tokens
        anchor_lines = PREFIX_ANCHOR_LINES
    plan = plan_completion(
        request.text,
        request.offset,
        request.language_id,
        engine.count_tokens,
        prefix_tokens,
        suffix_tokens,
        anchor_lines,
    )
    if plan is None:
        return None
    return dataclasses.replace(plan, max_lines=min(plan.max_lines, settings.max_lines))


def chosen_plan(engine: CompletionEngine, request: CompletionRequest) -> CompletionPlan | None:
    """The plan whose prompt costs least to evaluate now: the document-anchored prefix
    (the whole prefix budget) once its run is in or its prompt is cached, else the window."""
    plan = plan_for(engine, request)
    if plan is None or not request.settings.kv_reuse:
        return plan
    budget = prefix_budget(request, request.settings.prefix_tokens)
    anchored = anchored_plan(engine, request, plan, budget)
    if anchored is None or anchored.prefix == plan.prefix:
        return anchored or plan

    def cost(candidate: CompletionPlan) -> int:
        return engine.pending_tokens(fim_request(candidate, request, True))

    return anchored if cost(anchored) <= cost(plan) else plan


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


def fim_request(plan: CompletionPlan, request: CompletionRequest, heal: bool) -> FimRequest:
    """The engine's request for `plan`, in the request's document and lane (its KV
    sequence)."""
    max_tokens = request.settings.max_tokens
    if plan.mode is not CompletionMode.BLOCK:
        max_tokens = min(max_tokens, LINE_MODE_MAX_TOKENS)
    multi_line = plan.mode is CompletionMode.BLOCK or not plan.rest_of_line.strip()
    cross_file = request.cross_file
    return FimRequest(
        plan.prefix,
        model_suffix(plan),
        max_tokens,
        heal_last_token=heal,
        end_probability_at_line_break=END_PROBABILITY if multi_line else 0.0,
        document=request.document,
        lane=request.lane,
        file_path=cross_file.file_path,
        snippets=request.snippets,
        anchor=plan.anchor_line,
        repo_name=cross_file.repo_name,
        member_names=cross_file.member.names if cross_file.member else frozenset(),
        member_typed=cross_file.member.typed if cross_file.member else "",
    )


def prefill(engine: CompletionEngine, request: CompletionRequest, cancel: threading.Event) -> None:
    """Evaluate the prompt `request` would send, ahead of the request."""
    plan = chosen_plan(engine, request)
    if plan is not None:
        engine.prefill(fim_request(plan, request, True), cancel)


@dataclass
class _Attempt:
    """One request's passes so far: the plan and what each pass cost."""

    plan: CompletionPlan
    request: CompletionRequest
    on_text: Callable[[str], None] | None
    passes: list[GenerationStats] = dataclasses.field(default_factory=list)

    @property
    def decode_budget_s(self) -> float:
        """While the user types, decoding stops at a line break after this long (0: never)."""
        return self.request.settings.typing_decode_ms / 1000 if self.request.typing else 0.0

    def run(
        self, engine: CompletionEngine, request: FimRequest, cancel: threading.Event
    ) -> tuple[Suggestion | None, str]:
        """One model pass: the suggestion and the first line the finisher refused ("")."""
        finisher = CompletionFinisher(
            self.plan, self.request.text, self.request.offset, self.request.settings.max_lines
        )
        try:
            stream = engine.stream(request, cancel)
            suggestion = _finish(stream, finisher, self.on_text, self.decode_budget_s)
        finally:
            self.passes.append(dataclasses.replace(engine.last_stats))
        return suggestion, finisher.refused_first_line or ""


def suggest(
    engine: CompletionEngine,
    request: CompletionRequest,
    cancel: threading.Event,
    on_text: Callable[[str], None] | None = None,
) -> Outcome:
    """The suggestion at the request's cursor, or None where nothing sensible fits.

    While the user is typing (an automatic request, typingDecodeMs on), generation stops at
    the first line break after typingDecodeMs of decoding, once the lines so far stand on
    their own, and a refused answer gets no second opinion (the next keystroke asks again
    sooner than a second pass would answer). With quickStartTokens on, a typing request
    whose prompt would cost more than that to evaluate gets a short one around the cursor,
    cached apart (the full one keeps growing in idle prefills under the document's own
    sequence).
    """
    attempt = _attempt(engine, request, on_text)
    if attempt is None:
        return Outcome(None, GenerationStats(passes=0))
    try:
        suggestion = _ask(engine, attempt, cancel)
    except CompletionCancelled:
        return Outcome(None, request_cost(attempt.passes), cancelled=True)
    return Outcome(suggestion, request_cost(attempt.passes))


def _attempt(
    engine: CompletionEngine, request: CompletionRequest, on_text: Callable[[str], None] | None
) -> _Attempt | None:
    """The plan for `request`: a quick start's where a typing request's full prompt would
    cost more than quickStartTokens to evaluate."""
    plan = chosen_plan(engine, request)
    if plan is None:
        return None
    settings = request.settings
    if request.typing and settings.kv_reuse and settings.quick_start_tokens > 0:
        full = fim_request(plan, request, True)
        if engine.pending_tokens(full) > settings.quick_start_tokens:
            request = request.with_cross_file(request.cross_file.without_snippets())
            plan = plan_for(engine, request, quick=True) or plan
            request = dataclasses.replace(request, lane=QUICK_LANE)
    return _Attempt(dataclasses.replace(plan, member=request.cross_file.member), request, on_text)


def _ask(engine: CompletionEngine, attempt: _Attempt, cancel: threading.Event) -> Suggestion | None:
    """Token healing first (the prompt's last token is re-chosen by the model); where that
    answer is unusable, plainly continuing the text is the second opinion."""
    second_opinion = attempt.decode_budget_s == 0
    suggestion = None
    for heal in (True, False):
        request = fim_request(attempt.plan, attempt.request, heal)
        suggestion, refused = attempt.run(engine, request, cancel)
        if suggestion is None and refused and second_opinion:
            # The model's first choice on a blank line repeats the next line (it saw nothing
            # missing) or would leave the code below unreachable (`return x` in the middle
            # of a body): its next-best start is the second opinion.
            steered = dataclasses.replace(request, avoid_start=refused)
            suggestion, _ = attempt.run(engine, steered, cancel)
        if suggestion is not None or not engine.last_stats.healed or not second_opinion:
            break
    return suggestion


def speculate(
    engine: CompletionEngine,
    request: CompletionRequest,
    cancel: threading.Event,
    asking: Callable[[], None] = lambda: None,
) -> Outcome | None:
    """The suggestion at a place the user is expected to reach, worked out ahead, asked
    only where the prompt costs no more than a jump (the suffix budget and a little).

    Usually the document's own sequence already holds nearly all of it (the line just
    accepted and the suffix, which is shifted), and the model is asked at once. Otherwise
    the run serving that place is filled down to its line first (the rest of the run is the
    background's), and None is the answer where it would still cost more: background work
    that long would only hold up what comes next. `asking` is called once the model is
    asked (from then on the speculation costs what the request there would)."""
    plan = chosen_plan(engine, request)
    if plan is not None and not _cheap(engine, request, plan):
        runs = run_requests(engine, request)
        if runs:
            needed = engine.run_pending(up_to_cursor_line(engine, request, runs[0]))
            engine.prefill_run(runs[0], cancel, needed)
        if cancel.is_set():
            raise CompletionCancelled()
        plan = chosen_plan(engine, request)
        if plan is not None and not _cheap(engine, request, plan):
            return None
    if plan is None:
        return Outcome(None, GenerationStats(passes=0))
    asking()
    return suggest(engine, request, cancel)


def _cheap(engine: CompletionEngine, request: CompletionRequest, plan: CompletionPlan) -> bool:
    """Whether bringing in the plan's prompt costs at most a jump."""
    cost = engine.pending_tokens(fim_request(plan, request, True))
    return cost <= request.settings.suffix_tokens + SPECULATION_SLACK_TOKENS


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
