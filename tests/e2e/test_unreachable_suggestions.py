"""A suggestion never leaves the code after the cursor unreachable; the model is asked again.

On a blank line in the middle of a body the small default model's first choice is often
`return ...`, which would strand the statements below. The engine can steer generation away
from a start (`FimRequest.avoid_start`), and the server uses that for a second opinion.
"""

from __future__ import annotations

import threading

import pytest
from pytest_lsp import LanguageClient

from engines.completion_engine import FimRequest
from engines.llama_engine import LlamaEngine, LlamaEngineConfig
from engines.model_files import assemble_embedded_model
from tests.e2e.conftest import inline_at, only_text, open_document

pytestmark = pytest.mark.model

PREFIX = "def longest_run(values):\n    best = 0\n"
SUFFIX = (
    "    for value in values:\n        current = value\n        best = max(best, current)\n"
    "    return best\n"
)

NESTING = (
    "def deepest(text):\n"
    "    level = 0\n"
    "\n"
    "    for ch in text:\n"
    "        if ch == '(':\n"
    "            level += 1\n"
    "            deepest_level = max(level, deepest_level)\n"
    "        elif ch == ')':\n"
    "            level -= 1\n"
    "    return deepest_level\n"
)


def first_visible_word(text: str) -> str:
    return text.split()[0] if text.split() else ""


def test_the_engine_steers_away_from_a_start_it_is_told_to_avoid() -> None:
    engine = LlamaEngine(LlamaEngineConfig(assemble_embedded_model(), n_ctx=2048))
    try:
        request = FimRequest(PREFIX, SUFFIX, 24, heal_last_token=False, document="run")
        greedy = "".join(engine.stream(request, threading.Event()))
        first_line = greedy.strip().split("\n")[0]
        assert first_line
        steered_request = FimRequest(
            PREFIX, SUFFIX, 24, heal_last_token=False, document="run", avoid_start=first_line
        )
        steered = "".join(engine.stream(steered_request, threading.Event()))
    finally:
        engine.close()
    assert not steered.strip().startswith(first_visible_word(first_line)), (greedy, steered)
    # Only the start is steered: the prompt stayed cached, nothing was evaluated again but
    # the last token.
    assert engine.last_stats.evaluated_tokens <= 1


async def test_a_blank_line_mid_body_gets_no_return_that_strands_the_loop(
    client: LanguageClient,
) -> None:
    uri = "file:///work/nesting.py"
    open_document(client, uri, NESTING)
    result = await inline_at(client, uri, 2, 0)
    suggestion = only_text(result) if result.items else ""
    assert not suggestion.strip().startswith("return"), suggestion
    # The statement the loop needs: here the model writes `deepest_level = 0`.
    assert suggestion.strip().startswith("deepest_level ="), suggestion


async def test_a_second_opinion_is_counted_in_the_requests_figures(
    client: LanguageClient,
) -> None:
    """At the end of `    level = 0` the healed pass gives nothing usable and the plain
    continuation answers: the request's figures hold both passes."""
    uri = "file:///work/nesting_passes.py"
    open_document(client, uri, NESTING)
    await inline_at(client, uri, 1, 13)
    stats = await client.protocol.send_request_async("fimble/stats", {})
    assert stats.source == "model" and stats.passes == 2, stats
    await inline_at(client, uri, 2, 0)
    single = await client.protocol.send_request_async("fimble/stats", {})
    assert single.passes == 1 and stats.generated_tokens > 0 and single.generated_tokens > 0
