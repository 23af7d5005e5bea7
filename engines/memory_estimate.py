"""How much memory a GGUF model will take, read from its metadata before anything is loaded.

A laptop that runs out of memory while loading a model freezes the editor with it, so fimble
estimates first: the weights (the file, memory-mapped), the KV cache for the configured
context and number of sequences, and llama.cpp's compute buffer. The metadata is read with a
small GGUF header parser here (no weights touched, no dependency), so the estimate also works
for architectures this llama.cpp build cannot load.

The figures are estimates: sliding-window layers are counted as full attention and recurrent
state is ignored, so models with those come out high, never low.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines.gguf_header import GgufMetadataError, read_gguf_metadata

# Bytes per KV-cache element for the cache types llama.cpp offers.
KV_TYPE_BYTES = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
GIB = 1 << 30


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a model needs for one context configuration."""

    weights: int
    kv_cache: int
    compute: int
    n_ctx: int
    n_seq: int
    kv_type: str

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute

    def describe(self) -> str:
        return (
            f"about {self.total / GIB:.2f} GiB: weights {self.weights / GIB:.2f} GiB "
            f"(memory-mapped) + KV cache {self.kv_cache / GIB:.2f} GiB ({self.n_ctx} tokens x "
            f"{self.n_seq} sequence{'s' if self.n_seq > 1 else ''}, {self.kv_type}) + "
            f"compute buffers {self.compute / GIB:.2f} GiB"
        )


def kv_elements_per_token(metadata: dict[str, Any]) -> int:
    """K and V cache elements one token takes across all layers."""
    arch = str(metadata.get("general.architecture", ""))

    def get(name: str, default: Any = None) -> Any:
        return metadata.get(f"{arch}.{name}", default)

    layers = int(get("block_count", 0))
    if layers <= 0:
        raise GgufMetadataError("the metadata names no layer count (block_count)")
    lora_rank = get("attention.kv_lora_rank")
    if lora_rank:  # multi-head latent attention (DeepSeek-V2/V3): one compressed K+V row
        return layers * (int(lora_rank) + int(get("rope.dimension_count", 64)))
    heads = get("attention.head_count", 1)
    heads_kv = get("attention.head_count_kv", heads)
    per_layer_heads = heads_kv if isinstance(heads_kv, list) else [heads_kv] * layers
    head_count = max(heads) if isinstance(heads, list) else int(heads)
    embedding = int(get("embedding_length", 0))
    key_dim = int(get("attention.key_length", embedding // max(head_count, 1)))
    value_dim = int(get("attention.value_length", key_dim))
    return sum(int(h) for h in per_layer_heads[:layers]) * (key_dim + value_dim)


def estimate_memory(
    path: Path, n_ctx: int, n_seq: int = 1, kv_type: str = "f16", n_batch: int = 64
) -> MemoryEstimate:
    """Weights + KV cache (`n_ctx` tokens for each of `n_seq` sequences) + compute buffers."""
    metadata = read_gguf_metadata(path)
    per_token = kv_elements_per_token(metadata)
    kv_cache = int(per_token * n_ctx * n_seq * KV_TYPE_BYTES[kv_type])
    vocabulary = metadata.get("tokenizer.ggml.tokens", 32000)
    n_vocab = vocabulary if isinstance(vocabulary, int) else 32000
    # Logits for one ubatch plus llama.cpp's graph scratch (measured: 300 MiB for a 152k
    # vocabulary at ubatch 512; the logits are most of it).
    compute = n_vocab * n_batch * 4 + 64 * (1 << 20)
    return MemoryEstimate(path.stat().st_size, kv_cache, compute, n_ctx, n_seq, kv_type)


def available_memory() -> int | None:
    """Memory this process could still use (Linux: MemAvailable; elsewhere: physical)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def fitting_configuration(
    path: Path,
    n_ctx: int,
    budget: int,
    n_seq: int = 1,
    kv_types: tuple[str, ...] = ("f16", "q8_0"),
) -> MemoryEstimate | None:
    """The first configuration that fits `budget` bytes, trying the context as configured
    with each KV cache type in `kv_types`, then halved contexts (not below 1024 tokens)
    with the most compact type; None if none fits."""
    candidates = [(n_ctx, kv_type) for kv_type in kv_types]
    smaller = n_ctx // 2
    while smaller >= 1024:
        candidates.append((smaller, kv_types[-1]))
        smaller //= 2
    for context, kv_type in candidates:
        estimate = estimate_memory(path, context, n_seq, kv_type)
        if estimate.total <= budget:
            return estimate
    return None
