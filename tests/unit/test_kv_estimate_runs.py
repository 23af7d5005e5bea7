"""The memory estimate against what llama.cpp allocates for the context fimble really creates:
the default context size and KV cache type, with a sequence for each cached document, each
document run and the parking sequence (a unified cache: the cells are shared by all)."""

from __future__ import annotations

import logging
import re

import pytest

from engines.llama_runtime import ContextConfig, LlamaContext, LlamaModel
from engines.memory_estimate import estimate_memory
from engines.model_files import assemble_embedded_model
from engines.prompt_cache import PromptCache, PromptCacheConfig
from lsp_server.settings import Settings


@pytest.mark.model
@pytest.mark.parametrize("kv_type", sorted({Settings().kv_cache_type, "q8_0"}))
def test_the_estimate_matches_the_engine_context_at_the_default_size(
    caplog: pytest.LogCaptureFixture, kv_type: str
) -> None:
    settings = Settings()
    cache = PromptCacheConfig(documents=settings.cached_documents)
    path = assemble_embedded_model()
    model = LlamaModel(path)
    config = ContextConfig(
        n_ctx=settings.context_size,
        n_batch=cache.chunk,
        n_seq_max=PromptCache.sequences_needed(cache),
        kv_type=kv_type,
    )
    try:
        with caplog.at_level(logging.DEBUG, logger="fimble.llama"):
            LlamaContext(model, config).close()
    finally:
        model.close()
    kv = re.search(r"CPU KV buffer size =\s+([\d.]+) MiB", caplog.text)
    compute = re.search(r"CPU compute buffer size =\s+([\d.]+) MiB", caplog.text)
    assert kv is not None and compute is not None, caplog.text[-2000:]
    estimate = estimate_memory(path, settings.context_size, kv_type=kv_type, n_batch=cache.chunk)
    assert estimate.kv_cache == pytest.approx(float(kv.group(1)) * 2**20, rel=1e-3)
    assert estimate.compute >= float(compute.group(1)) * 2**20
