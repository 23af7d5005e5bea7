"""Which document runs a request asks for, and in what order: pure arithmetic over a
document's anchors, with a stand-in token counter (four characters a token)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from context.cursor import Cursor
from engines.completion_engine import CompletionEngine
from lsp_server.pipeline import CompletionRequest
from lsp_server.pipeline.document_runs import run_requests, segments_of, up_to_cursor_line
from lsp_server.settings import Settings

ENGINE = cast(CompletionEngine, SimpleNamespace(count_tokens=lambda text: max(1, len(text) // 4)))
TEXT = "".join(
    f"def step_{number}(value):\n    return value + {number}\n\n\n" for number in range(400)
)
SETTINGS = Settings(prefix_tokens=512, document_runs=6, context_tokens=0)


def request_at_line(line: int) -> CompletionRequest:
    line_starts = [0] + [index + 1 for index, char in enumerate(TEXT) if char == "\n"]
    offset = line_starts[line] + len("    return ")
    return CompletionRequest("file:///steps.py", TEXT, Cursor.at(TEXT, offset), "python", SETTINGS)


def test_the_run_a_prompt_at_the_cursor_borrows_comes_first() -> None:
    """The prompt starts at the farthest anchor within the budget; the nearest anchor (the
    one right above the cursor, or below it) serves other lines."""
    for line in (301, 777, 1201):
        request = request_at_line(line)
        segments = segments_of(ENGINE, request)
        serving = segments.anchored_prefix(request.offset, SETTINGS.prefix_tokens)
        assert serving is not None
        runs = run_requests(ENGINE, request)
        assert len(runs) == SETTINGS.document_runs
        assert runs[0].anchor == serving.anchor_line, line
        here = segments.cumulative[line]
        nearest = min(runs, key=lambda run: abs(segments.cumulative[run.anchor or 0] - here))
        assert nearest.anchor != serving.anchor_line  # what the old order filled first


def test_a_run_cut_at_the_cursor_line_holds_what_the_prompt_borrows() -> None:
    request = request_at_line(777)
    run = run_requests(ENGINE, request)[0]
    assert run.anchor is not None
    cut = up_to_cursor_line(ENGINE, request, run)
    start = segments_of(ENGINE, request).line_starts[run.anchor]
    line_start = TEXT.rfind("\n", 0, request.offset) + 1
    assert cut.prefix == TEXT[start:line_start]
    assert run.prefix.startswith(cut.prefix) and len(run.prefix) > len(cut.prefix)
