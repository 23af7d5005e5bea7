"""The prompt cache saves work, never changes the answer: a keystroke on a line is answered
exactly as a fresh evaluation of the whole prompt would answer it (real model, greedy)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from engines.completion_engine import FimRequest
from engines.llama_engine import LlamaEngine, LlamaEngineConfig
from engines.model_files import assemble_embedded_model
from engines.prompt_cache import PromptCacheConfig

pytestmark = pytest.mark.model

ABOVE = (
    "import os\n"
    "from pathlib import Path\n\n\n"
    "def config_home() -> Path:\n"
    '    folder = os.environ.get("XDG_CONFIG_HOME", "")\n'
    "    if not folder.strip():\n"
    '        return Path.home() / ".config"\n'
    "    return Path(folder)\n\n\n"
    "def open_settings(name: str):\n"
)
LINE = "    path = config_home() / name\n"
BELOW = "    with path.open(encoding='utf-8') as stream:\n        return stream.read()\n"


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[LlamaEngine, LlamaEngine]]:
    model = assemble_embedded_model()
    cached = LlamaEngine(LlamaEngineConfig(model, n_ctx=2048))
    fresh = LlamaEngine(LlamaEngineConfig(model, n_ctx=2048, cache=PromptCacheConfig(reuse=False)))
    yield cached, fresh
    cached.close()
    fresh.close()


def _answer(engine: LlamaEngine, typed: str, heal: bool) -> str:
    request = FimRequest(ABOVE + typed, "\n" + BELOW, 12, heal_last_token=heal, document="d")
    return "".join(engine.stream(request, threading.Event()))


@pytest.mark.parametrize("heal", [True, False])
def test_typing_a_line_gets_the_answers_of_full_evaluation(
    engines: tuple[LlamaEngine, LlamaEngine], heal: bool
) -> None:
    cached, fresh = engines
    differing = []
    for length in range(5, len(LINE) - 1, 3):
        typed = LINE[:length]
        from_cache = _answer(cached, typed, heal)
        if length > 5:
            assert cached.last_stats.evaluated_tokens <= 4, typed
        if from_cache != _answer(fresh, typed, heal):
            differing.append(typed)
    assert differing == []
