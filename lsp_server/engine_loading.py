"""Settings in, a ready engine out: the one place that picks and builds the engine."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engines.completion_engine import CompletionEngine
from engines.llama_engine import LlamaEngine, LlamaEngineConfig
from engines.load_progress import LoadProgress, LoadStep, no_progress
from engines.memory_estimate import (
    GIB,
    available_memory,
    estimate_memory,
    fitting_configuration,
)
from engines.model_catalog import resolve_model
from engines.prompt_cache import PromptCacheConfig
from lsp_server.settings import Settings

logger = logging.getLogger(__name__)


def load_engine(settings: Settings, progress: LoadProgress = no_progress) -> CompletionEngine:
    """Load the configured model (or the embedded default) in this process, or connect;
    each step (joining and checking the model, loading it) is told to `progress`."""
    if settings.engine != "local":
        return remote_engine(settings)
    model_path = resolve_model(settings.model_path, progress)
    memory = plan_memory(
        model_path, settings.context_size, settings.kv_cache_type, available_memory()
    )
    if memory.warning is not None:
        logger.warning("%s", memory.warning)
    config = LlamaEngineConfig(
        model_path=model_path,
        n_ctx=memory.n_ctx,
        kv_type=memory.kv_type,
        flash_attention=flash_attention(settings.flash_attention, memory.kv_type),
        n_threads=settings.effective_threads(),
        n_threads_batch=settings.effective_threads(),
        fim_template=settings.fim_template or None,
        cache=PromptCacheConfig(
            documents=settings.cached_documents,
            reuse=settings.kv_reuse,
            runs=settings.document_runs,
        ),
    )
    progress(LoadStep(f"loading {model_path.name} into llama.cpp"))
    return LlamaEngine(config)


def flash_attention(choice: str, kv_type: str) -> bool | None:
    """The flashAttention setting for llama.cpp (None: its own choice); a quantized V cache
    cannot do without it, so off is auto there."""
    if choice == "on":
        return True
    if choice == "off" and kv_type == "f16":
        return False
    return None


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
            ca_file=settings.remote_ca_file,
        )
    )


@dataclass(frozen=True)
class MemoryPlan:
    """What to load with, and what to tell the user about it (None: nothing to say)."""

    n_ctx: int
    kv_type: str
    warning: str | None = None


def plan_memory(model_path: Path, n_ctx: int, kv_type: str, available: int | None) -> MemoryPlan:
    """The context size and KV cache type to load with: as configured where the estimate
    fits the memory available, else a q8_0 KV cache (from f16) and then a smaller context;
    as configured, with a warning, where nothing fits."""
    as_configured = MemoryPlan(n_ctx, kv_type)
    if available is None:
        return as_configured
    try:
        estimate = estimate_memory(model_path, n_ctx, kv_type=kv_type)
    except Exception:  # an unreadable header is reported by the loader itself
        return as_configured
    if estimate.total <= available:
        return as_configured
    kv_types = (kv_type, "q8_0") if kv_type == "f16" else (kv_type,)
    fitting = fitting_configuration(model_path, n_ctx, available, kv_types=kv_types)
    needs = f"{model_path.name} needs {estimate.describe()}, but only {available / GIB:.2f} GiB"
    if fitting is None:
        warning = f"{needs} is available: loading may swap or fail; choose a smaller model."
        return MemoryPlan(n_ctx, kv_type, warning)
    warning = (
        f"{needs} is available: fimble loads it with a {fitting.n_ctx}-token context and a "
        f"{fitting.kv_type} KV cache ({fitting.total / GIB:.2f} GiB); set contextSize and "
        "kvCacheType to choose yourself."
    )
    return MemoryPlan(fitting.n_ctx, fitting.kv_type, warning)
