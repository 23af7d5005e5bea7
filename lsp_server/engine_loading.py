"""Settings in, a ready engine out: the one place that picks and builds the engine."""

from __future__ import annotations

import logging
from pathlib import Path

from engines.completion_engine import CompletionEngine
from engines.llama_engine import LlamaEngine, LlamaEngineConfig
from engines.memory_estimate import GIB, available_memory, estimate_memory, fitting_configuration
from engines.model_catalog import resolve_model
from engines.prompt_cache import PromptCacheConfig
from lsp_server.settings import Settings

logger = logging.getLogger(__name__)


def load_engine(settings: Settings) -> CompletionEngine:
    """Load the configured model (or the embedded default) in this process, or connect."""
    if settings.engine != "local":
        return remote_engine(settings)
    model_path = resolve_model(settings.model_path)
    warn_if_too_big(model_path, settings.context_size)
    config = LlamaEngineConfig(
        model_path=model_path,
        n_ctx=settings.context_size,
        n_threads=settings.effective_threads(),
        n_threads_batch=settings.effective_threads(),
        fim_template=settings.fim_template or None,
        cache=PromptCacheConfig(documents=settings.cached_documents, reuse=settings.prompt_cache),
    )
    return LlamaEngine(config)


def remote_engine(settings: Settings) -> CompletionEngine:
    """An engine on the inference server the settings name (nothing is sent until asked)."""
    # Imported here: the HTTP client is loaded only by those who configure a server.
    from engines.remote_engine import RemoteEngine, RemoteEngineConfig, RemoteEngineError

    if not settings.remote_url:
        raise RemoteEngineError(
            f"the {settings.engine} engine needs remoteUrl, the inference server's base URL "
            "(e.g. http://127.0.0.1:8080)."
        )
    return RemoteEngine(
        RemoteEngineConfig(
            kind=settings.engine,
            url=settings.remote_url,
            model=settings.remote_model,
            fim_template=settings.fim_template or "qwen",
            api_key_env=settings.remote_api_key_env,
            timeout_seconds=float(settings.remote_timeout),
        )
    )


def memory_warning(model_path: Path, n_ctx: int, available: int | None) -> str | None:
    """What to tell the user before loading a model that will not fit, or None."""
    if available is None:
        return None
    try:
        estimate = estimate_memory(model_path, n_ctx)
    except Exception:  # an unreadable header is reported by the loader itself
        return None
    if estimate.total <= available:
        return None
    # The in-process engine keeps its KV cache in f16 (no cache-type setting yet).
    fitting = fitting_configuration(model_path, n_ctx, available, kv_types=("f16",))
    advice = (
        f"a {fitting.n_ctx}-token context with a {fitting.kv_type} KV cache would fit "
        f"({fitting.total / GIB:.2f} GiB): set contextSize to {fitting.n_ctx}"
        if fitting is not None and fitting.n_ctx < n_ctx
        else "choose a smaller model (fimble models)"
    )
    return (
        f"{model_path.name} needs {estimate.describe()}, but only {available / GIB:.2f} GiB "
        f"is available: loading may swap or fail; {advice}."
    )


def warn_if_too_big(model_path: Path, n_ctx: int) -> None:
    warning = memory_warning(model_path, n_ctx, available_memory())
    if warning is not None:
        logger.warning("%s", warning)
