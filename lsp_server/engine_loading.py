"""Settings in, a ready engine out: the one place that picks and builds the engine."""

from __future__ import annotations

from engines.completion_engine import CompletionEngine
from engines.llama_engine import LlamaEngine, LlamaEngineConfig
from engines.model_files import resolve_model_path
from engines.prompt_cache import PromptCacheConfig
from lsp_server.settings import Settings


def load_engine(settings: Settings) -> CompletionEngine:
    """Load the configured model (or the embedded default) in this process."""
    config = LlamaEngineConfig(
        model_path=resolve_model_path(settings.model_path or None),
        n_ctx=settings.context_size,
        n_threads=settings.effective_threads(),
        n_threads_batch=settings.effective_threads(),
        fim_template=settings.fim_template or None,
        cache=PromptCacheConfig(documents=settings.cached_documents, reuse=settings.prompt_cache),
    )
    return LlamaEngine(config)
