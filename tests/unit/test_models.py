"""Model presets, the default-model choice and the memory estimate, checked against llama.cpp."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from engines import model_catalog
from engines.llama_runtime import GGML_KV_TYPES, ContextConfig, LlamaContext, LlamaModel
from engines.memory_estimate import (
    GIB,
    KV_TYPE_BYTES,
    estimate_memory,
    fitting_configuration,
    read_gguf_metadata,
)
from engines.model_catalog import (
    DEFAULT_CONTEXT_TOKENS,
    choose_default_model,
    measured_context_tokens,
    model_file_for,
    resolve_model,
)
from engines.model_files import (
    CODER_1_5B_MODEL,
    DEFAULT_MODEL,
    ModelFileError,
    assemble_embedded_model,
)
from lsp_server import workspace_context
from lsp_server.engine_loading import MemoryPlan, flash_attention, plan_memory
from lsp_server.settings import Settings
from lsp_server.workspace_context import context_budget


@pytest.mark.model
def test_metadata_of_the_default_model() -> None:
    metadata = read_gguf_metadata(assemble_embedded_model())
    assert metadata["general.architecture"] == "qwen2"
    assert metadata["qwen2.block_count"] == 24
    assert metadata["tokenizer.ggml.tokens"] == 151936  # string arrays: their length


@pytest.mark.model
def test_kv_estimate_matches_what_llama_cpp_allocates(caplog: pytest.LogCaptureFixture) -> None:
    path = assemble_embedded_model()
    model = LlamaModel(path)
    with caplog.at_level(logging.DEBUG, logger="fimble.llama"):
        context = LlamaContext(model, ContextConfig(n_ctx=2048, n_batch=64))
    context.close()
    model.close()
    kv = re.search(r"CPU KV buffer size =\s+([\d.]+) MiB", caplog.text)
    compute = re.search(r"CPU compute buffer size =\s+([\d.]+) MiB", caplog.text)
    assert kv is not None and compute is not None, caplog.text[-2000:]
    estimate = estimate_memory(path, 2048, n_batch=64)
    assert estimate.kv_cache == int(float(kv.group(1)) * 2**20)
    assert estimate.compute >= float(compute.group(1)) * 2**20
    assert estimate.weights == path.stat().st_size


@pytest.mark.model
def test_a_smaller_budget_picks_q8_cache_then_a_shorter_context() -> None:
    path = assemble_embedded_model()
    full = estimate_memory(path, 32768)
    q8 = fitting_configuration(path, 32768, full.total - 1)
    assert q8 is not None and (q8.n_ctx, q8.kv_type) == (32768, "q8_0")
    shorter = fitting_configuration(path, 32768, q8.total - 1)
    assert shorter is not None and shorter.n_ctx == 16384
    assert fitting_configuration(path, 32768, 1 << 20) is None


@pytest.mark.model
@pytest.mark.parametrize(
    ("choice", "kv_type", "in_graph"),
    [("off", "f16", False), ("on", "f16", True), ("off", "q8_0", True)],
)
def test_the_flash_attention_setting_reaches_llama_cpp(
    caplog: pytest.LogCaptureFixture, choice: str, kv_type: str, in_graph: bool
) -> None:
    """Off builds attention without llama.cpp's fused kernel; a quantized V cache, which
    cannot do without it, keeps it (and the context is made) whatever the setting says."""
    model = LlamaModel(assemble_embedded_model())
    config = ContextConfig(
        n_ctx=512, n_batch=64, kv_type=kv_type, flash_attention=flash_attention(choice, kv_type)
    )
    with caplog.at_level(logging.DEBUG, logger="fimble.llama"):
        LlamaContext(model, config).close()
    model.close()
    assert ("FLASH_ATTN_EXT" in caplog.text) == in_graph, caplog.text[-2000:]


def test_every_kv_cache_type_estimated_is_one_llama_cpp_is_given() -> None:
    assert set(GGML_KV_TYPES) == set(KV_TYPE_BYTES)


@pytest.mark.model
def test_a_model_that_does_not_fit_is_loaded_compact_and_said_so() -> None:
    path = assemble_embedded_model()
    needed = estimate_memory(path, 32768).total
    assert plan_memory(path, 32768, "f16", needed) == MemoryPlan(32768, "f16")
    q8 = plan_memory(path, 32768, "f16", needed - 1)
    assert (q8.n_ctx, q8.kv_type) == (32768, "q8_0")
    assert q8.warning is not None and "32768-token context and a q8_0 KV cache" in q8.warning
    shorter = plan_memory(
        path, 32768, "f16", estimate_memory(path, 32768, kv_type="q8_0").total - 1
    )
    assert (shorter.n_ctx, shorter.kv_type) == (16384, "q8_0")
    chosen = plan_memory(path, 32768, "q4_0", needed - 1)  # the user's choice is kept if it fits
    assert chosen == MemoryPlan(32768, "q4_0")
    hopeless = plan_memory(path, 4096, "f16", int(0.1 * GIB))
    assert (hopeless.n_ctx, hopeless.kv_type) == (4096, "f16")
    assert hopeless.warning is not None and "smaller model" in hopeless.warning


@pytest.mark.parametrize(
    ("gpu", "installed", "chosen"),
    [
        (True, True, CODER_1_5B_MODEL),
        (True, False, DEFAULT_MODEL),
        (False, True, DEFAULT_MODEL),
        (False, False, DEFAULT_MODEL),
    ],
)
def test_default_model_by_machine(
    monkeypatch: pytest.MonkeyPatch, gpu: bool, installed: bool, chosen: object
) -> None:
    monkeypatch.setattr(model_catalog, "embedded_model_installed", lambda model: installed)
    choice = choose_default_model(has_gpu=gpu)
    assert choice.model == chosen
    assert choice.reason
    # The extra is recommended exactly where it is missing.
    assert ("fimble[coder-1-5b]" in choice.recommendation) == (not installed)


def test_this_machine_defaults_to_the_0_5b() -> None:
    choice = choose_default_model()
    if model_catalog.gpu_backend():
        pytest.skip("this llama.cpp build has a GPU backend")
    assert choice.model == DEFAULT_MODEL and "CPU only" in choice.reason


@pytest.mark.model
def test_model_path_accepts_preset_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_model("qwen2.5-coder-0.5b") == assemble_embedded_model()
    monkeypatch.setenv("FIMBLE_CACHE_DIR", str(tmp_path))
    with pytest.raises(ModelFileError, match="fimble models pull qwen3-coder-30b-a3b"):
        resolve_model("qwen3-coder-30b-a3b")
    with pytest.raises(ModelFileError, match="no GGUF download"):
        resolve_model("laguna-xs.2")


def test_the_file_a_model_path_loads_is_named_without_loading_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FIMBLE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(model_catalog, "gpu_backend", lambda: False)
    assert model_file_for("") == tmp_path / DEFAULT_MODEL.file_name
    assert model_file_for("qwen2.5-coder-1.5b") == tmp_path / CODER_1_5B_MODEL.file_name
    pulled = tmp_path / "models" / "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf"
    assert model_file_for("qwen3-coder-30b-a3b") == pulled
    assert model_file_for("laguna-xs.2") is None
    assert model_file_for("~/m.gguf") == Path("~/m.gguf").expanduser()
    assert list(tmp_path.iterdir()) == []  # nothing joined or downloaded


def test_the_context_budget_is_the_one_measured_for_the_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """contextTokens -1 (the default) is the budget measured for the model the settings load:
    none for the 0.5B (context did not help it), 384 for the 1.5B and for any model fimble has
    not measured, a remote engine's among them; a budget set by hand is kept."""
    monkeypatch.setenv("FIMBLE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(model_catalog, "gpu_backend", lambda: False)
    workspace_context._measured_budget.cache_clear()
    budgets = {
        "": 0,
        "qwen2.5-coder-0.5b": 0,
        str(tmp_path / DEFAULT_MODEL.file_name): 0,
        "qwen2.5-coder-1.5b": 384,
        "qwen3-coder-30b-a3b": 384,
        "laguna-xs.2": 384,
        "~/my-own-model.gguf": 384,
    }
    for model_path, budget in budgets.items():
        assert context_budget(Settings(model_path=model_path)) == budget, model_path
    assert context_budget(Settings(engine="openai", remote_url="http://localhost:1")) == 384
    assert context_budget(Settings(model_path="", context_tokens=256)) == 256
    assert context_budget(Settings(model_path="qwen2.5-coder-1.5b", context_tokens=0)) == 0
    assert measured_context_tokens(None) == DEFAULT_CONTEXT_TOKENS
    workspace_context._measured_budget.cache_clear()
