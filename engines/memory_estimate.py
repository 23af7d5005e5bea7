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
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# GGUF value types (gguf.GGUFValueType): sizes of the fixed-width ones.
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9
# Bytes per KV-cache element for the cache types llama.cpp offers.
KV_TYPE_BYTES = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
GIB = 1 << 30


class GgufMetadataError(Exception):
    """The file is not GGUF or its header is damaged."""


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise GgufMetadataError("the GGUF header ends early (truncated file)")
    return data


def _string(stream: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _read(stream, 8))
    return _read(stream, length).decode("utf-8", errors="replace")


def _value(stream: BinaryIO, kind: int, keep_strings: bool = True) -> Any:
    if kind in _SCALARS:
        fmt = "<" + _SCALARS[kind]
        return struct.unpack(fmt, _read(stream, struct.calcsize(fmt)))[0]
    if kind == _STRING:
        if keep_strings:
            return _string(stream)
        (length,) = struct.unpack("<Q", _read(stream, 8))
        stream.seek(length, os.SEEK_CUR)
        return None
    if kind == _ARRAY:
        item_kind, count = struct.unpack("<IQ", _read(stream, 12))
        if item_kind == _STRING:
            # Vocabularies: 100k+ strings nobody needs here; keep only how many there are.
            for _ in range(count):
                _value(stream, _STRING, keep_strings=False)
            return count
        if item_kind in _SCALARS:
            fmt = "<" + _SCALARS[item_kind]
            size = struct.calcsize(fmt)
            return [struct.unpack(fmt, _read(stream, size))[0] for _ in range(count)]
        return [_value(stream, item_kind) for _ in range(count)]
    raise GgufMetadataError(f"unknown GGUF value type {kind}")


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """Every metadata key of a GGUF file; string arrays are replaced by their length."""
    with path.open("rb") as stream:
        if _read(stream, 4) != b"GGUF":
            raise GgufMetadataError(f"{path} is not a GGUF file")
        version, _tensors, count = struct.unpack("<IQQ", _read(stream, 20))
        if version < 2:
            raise GgufMetadataError(f"GGUF version {version} is too old")
        metadata: dict[str, Any] = {}
        for _ in range(count):
            key = _string(stream)
            (kind,) = struct.unpack("<I", _read(stream, 4))
            metadata[key] = _value(stream, kind)
        return metadata


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
