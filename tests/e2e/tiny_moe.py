"""Write a tiny random-weight mixture-of-experts GGUF (llama.cpp architecture `qwen3moe`).

Two layers of four experts (two used per token) over StarCoder's real vocabulary (copied
from the vocab-only fixture, so the FIM markers exist): a few MB that llama.cpp loads and
runs through the same MoE code path as Qwen3-Coder-30B-A3B. Its text is noise; what it
proves is the path (expert routing, loading, FIM prompt, generation), not quality.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

VOCAB = Path(__file__).resolve().parents[1] / "fixtures" / "vocab" / "ggml-vocab-starcoder.gguf"

N_EMBD = 64
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = 16
N_LAYER = 2
N_EXPERT = 4
N_EXPERT_USED = 2
N_FF_EXPERT = 32


def _copy_tokenizer(writer: gguf.GGUFWriter, source: Path) -> int:
    reader = gguf.GGUFReader(source)
    n_vocab = 0
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        value = field.contents()
        if name == "tokenizer.ggml.tokens":
            n_vocab = len(value)
        sub_type = field.types[1] if len(field.types) > 1 else None
        writer.add_key_value(name, value, field.types[0], sub_type=sub_type)
    return n_vocab


def write_tiny_qwen3moe(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.QWEN3MOE]
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name("fimble tiny qwen3moe (random weights)")
    writer.add_block_count(N_LAYER)
    writer.add_context_length(2048)
    writer.add_embedding_length(N_EMBD)
    writer.add_feed_forward_length(N_FF_EXPERT * N_EXPERT_USED)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_key_length(HEAD_DIM)
    writer.add_value_length(HEAD_DIM)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_expert_count(N_EXPERT)
    writer.add_expert_used_count(N_EXPERT_USED)
    writer.add_expert_feed_forward_length(N_FF_EXPERT)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    n_vocab = _copy_tokenizer(writer, VOCAB)

    def weights(*shape: int) -> np.ndarray:  # numpy order: the reverse of ggml's ne
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    def ones(size: int) -> np.ndarray:
        return np.ones(size, dtype=np.float32)

    writer.add_tensor("token_embd.weight", weights(n_vocab, N_EMBD).astype(np.float16))
    writer.add_tensor("output_norm.weight", ones(N_EMBD))
    writer.add_tensor("output.weight", weights(n_vocab, N_EMBD).astype(np.float16))
    for layer in range(N_LAYER):
        block = f"blk.{layer}"
        writer.add_tensor(f"{block}.attn_norm.weight", ones(N_EMBD))
        writer.add_tensor(f"{block}.attn_q.weight", weights(N_HEAD * HEAD_DIM, N_EMBD))
        writer.add_tensor(f"{block}.attn_k.weight", weights(N_HEAD_KV * HEAD_DIM, N_EMBD))
        writer.add_tensor(f"{block}.attn_v.weight", weights(N_HEAD_KV * HEAD_DIM, N_EMBD))
        writer.add_tensor(f"{block}.attn_output.weight", weights(N_EMBD, N_HEAD * HEAD_DIM))
        writer.add_tensor(f"{block}.attn_q_norm.weight", ones(HEAD_DIM))
        writer.add_tensor(f"{block}.attn_k_norm.weight", ones(HEAD_DIM))
        writer.add_tensor(f"{block}.ffn_norm.weight", ones(N_EMBD))
        writer.add_tensor(f"{block}.ffn_gate_inp.weight", weights(N_EXPERT, N_EMBD))
        writer.add_tensor(f"{block}.ffn_gate_exps.weight", weights(N_EXPERT, N_FF_EXPERT, N_EMBD))
        writer.add_tensor(f"{block}.ffn_up_exps.weight", weights(N_EXPERT, N_FF_EXPERT, N_EMBD))
        writer.add_tensor(f"{block}.ffn_down_exps.weight", weights(N_EXPERT, N_EMBD, N_FF_EXPERT))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
