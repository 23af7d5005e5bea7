"""Settings in, a ready engine out: the one place that picks and builds the engine."""

from __future__ import annotations

from engines.completion_engine import CompletionEngine
from engines.llama_engine import LlamaEngine, LlamaEngineConfig
from engines.model_files import resolve_model_path
from lsp_server.settings import Settings


def load_engine(settings: Settings) -> CompletionEngine:
    """Load the configured model (or the embedded default) in this process, or connect."""
    if settings.engine != "local":
        return remote_engine(settings)
    config = LlamaEngineConfig(
        model_path=resolve_model_path(settings.model_path or None),
        n_ctx=settings.context_size,
        n_threads=settings.effective_threads(),
        fim_template=settings.fim_template or None,
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
