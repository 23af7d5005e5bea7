"""A request's recorded figures cover every model pass it took, not only the last."""

from __future__ import annotations

from engines.completion_engine import GenerationStats
from lsp_server.pipeline.suggestion import request_cost


def test_a_requests_figures_add_up_over_its_passes() -> None:
    first = GenerationStats(
        prompt_tokens=1200,
        reused_tokens=1180,
        moved_tokens=40,
        evaluated_tokens=20,
        generated_tokens=12,
        prefill_seconds=0.1,
        decode_seconds=0.3,
        stop_reason="rejected",
        healed=True,
    )
    second = GenerationStats(
        prompt_tokens=1200,
        reused_tokens=1199,
        evaluated_tokens=1,
        generated_tokens=9,
        prefill_seconds=0.01,
        decode_seconds=0.2,
        stop_reason="end",
    )
    total = request_cost([first, second])
    assert (total.evaluated_tokens, total.generated_tokens, total.passes) == (21, 21, 2)
    assert (total.reused_tokens, total.stop_reason, total.healed) == (1180, "end", True)
    assert abs(total.prefill_seconds - 0.11) < 1e-9 and abs(total.decode_seconds - 0.5) < 1e-9
    assert request_cost([first]) == first


def test_a_request_answered_without_the_model_reports_no_pass() -> None:
    nothing = request_cost([])
    assert (nothing.passes, nothing.generated_tokens, nothing.evaluated_tokens) == (0, 0, 0)
