"""Safe wrappers over llama.cpp's C API (through llama-cpp-python's ctypes bindings).

llama-cpp-python's high-level `Llama` class keeps a whole-vocabulary logits array per batch
slot, reuses only a common prefix of one sequence and has a broken FIM path; fimble drives the
C API directly instead. This module owns the raw pointers (model, context, batch), frees them,
routes llama.cpp's own logging into Python's `logging`, and exposes only Python types.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
import numpy as np
import numpy.typing as npt

logger = logging.getLogger("fimble.llama")

_backend_lock = threading.Lock()
_backend_ready = False


def _log_line(level: int, text: bytes | None, _user_data: ctypes.c_void_p) -> None:
    if text:
        logger.debug("%s", text.decode("utf-8", errors="replace").rstrip())


# Kept at module level: llama.cpp holds this pointer for the life of the process.
_log_to_python = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(_log_line)


def ensure_backend() -> None:
    """Initialise llama.cpp once per process, with its log routed to `fimble.llama`."""
    global _backend_ready
    with _backend_lock:
        if not _backend_ready:
            llama_cpp.llama_log_set(_log_to_python, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _backend_ready = True


def system_info() -> str:
    ensure_backend()
    info: bytes = llama_cpp.llama_print_system_info()
    return info.decode("utf-8", errors="replace").strip()


def amx_in_build() -> bool:
    """Whether this llama.cpp build uses Intel AMX kernels (compiled for an AMX CPU)."""
    return "AMX_INT8 = 1" in system_info()


def set_fields(params: ctypes.Structure, **values: object) -> None:
    """Set fields of a llama.cpp parameter struct, refusing names it lacks: assigning an
    unknown attribute to a ctypes struct silently does nothing (llama.cpp renames fields
    between versions; `use_mmap` became `load_mode`)."""
    known = {field[0] for field in params._fields_}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TypeError(f"{type(params).__name__} has no field {', '.join(unknown)}")
    for name, value in values.items():
        setattr(params, name, value)


class ModelLoadError(Exception):
    """llama.cpp refused the file."""


class LlamaModel:
    """A loaded GGUF model and its vocabulary."""

    def __init__(self, path: Path, *, in_memory: bool = False, vocab_only: bool = False) -> None:
        """With `in_memory`, the weights are read into memory rather than mapped from the
        file, so that the file can be rewritten in place (`cp` over it) without a crash:
        a mapped page cut off by truncation raises SIGBUS when the model next reads it."""
        ensure_backend()
        params = llama_cpp.llama_model_default_params()
        set_fields(
            params,
            load_mode=llama_cpp.LLAMA_LOAD_MODE_NONE
            if in_memory
            else llama_cpp.LLAMA_LOAD_MODE_MMAP,
            vocab_only=vocab_only,
            n_gpu_layers=999,
            # llama.cpp's AMX matrix kernels crash (SIGSEGV in ggml_backend_amx_mul_mat) on
            # AMX CPUs here; the extra buffer types are what route weights to them.
            use_extra_bufts=not amx_in_build(),
        )
        self._ptr = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not self._ptr:
            raise ModelLoadError(f"llama.cpp could not load {path}")
        self.path = path
        self.vocab = llama_cpp.llama_model_get_vocab(self._ptr)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self._pieces: list[bytes] | None = None

    @property
    def ptr(self) -> ctypes.c_void_p:
        pointer: ctypes.c_void_p = self._ptr
        return pointer

    def close(self) -> None:
        if self._ptr:
            llama_cpp.llama_model_free(self._ptr)
            self._ptr = None

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        """Token ids of `text`; with `special` off, marker strings stay plain text."""
        data = text.encode("utf-8")
        if not data:
            return []
        capacity = len(data) + 8
        buffer = (llama_cpp.llama_token * capacity)()
        count = llama_cpp.llama_tokenize(
            self.vocab, data, len(data), buffer, capacity, False, special
        )
        if count < 0:
            capacity = -count
            buffer = (llama_cpp.llama_token * capacity)()
            count = llama_cpp.llama_tokenize(
                self.vocab, data, len(data), buffer, capacity, False, special
            )
        return list(buffer[:count])

    def piece(self, token: int, *, special: bool = False) -> bytes:
        """The bytes a token stands for (control tokens render empty unless `special`)."""
        buffer = ctypes.create_string_buffer(64)
        length = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, 64, 0, special)
        if length < 0:
            buffer = ctypes.create_string_buffer(-length)
            length = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, -length, 0, special)
        return buffer.raw[:length]

    def pieces(self) -> list[bytes]:
        """Every token's bytes, computed once (used for token healing)."""
        if self._pieces is None:
            self._pieces = [self.piece(token) for token in range(self.n_vocab)]
        return self._pieces

    def special_token(self, text: str) -> int | None:
        """The id of a control token spelled `text`, or None if the vocabulary lacks it."""
        ids = self.tokenize(text, special=True)
        if len(ids) != 1 or len(self.tokenize(text, special=False)) == 1:
            return None
        return ids[0]

    def is_end_of_generation(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def end_of_generation_ids(self) -> frozenset[int]:
        candidates = [llama_cpp.llama_vocab_eos(self.vocab), llama_cpp.llama_vocab_eot(self.vocab)]
        return frozenset(token for token in candidates if token >= 0)

    def declared_fim_ids(self) -> tuple[int, int, int] | None:
        ids = (
            llama_cpp.llama_vocab_fim_pre(self.vocab),
            llama_cpp.llama_vocab_fim_suf(self.vocab),
            llama_cpp.llama_vocab_fim_mid(self.vocab),
        )
        return (ids[0], ids[1], ids[2]) if all(token >= 0 for token in ids) else None

    def bos_id(self) -> int | None:
        if not llama_cpp.llama_vocab_get_add_bos(self.vocab):
            return None
        token = int(llama_cpp.llama_vocab_bos(self.vocab))
        return token if token >= 0 else None

    def metadata(self, key: str) -> str | None:
        buffer = ctypes.create_string_buffer(512)
        length = llama_cpp.llama_model_meta_val_str(self._ptr, key.encode(), buffer, 512)
        return buffer.value.decode("utf-8", errors="replace") if length >= 0 else None

    def describe(self) -> dict[str, str]:
        buffer = ctypes.create_string_buffer(256)
        llama_cpp.llama_model_desc(self._ptr, buffer, 256)
        return {
            "description": buffer.value.decode("utf-8", errors="replace"),
            "architecture": self.metadata("general.architecture") or "unknown",
            "name": self.metadata("general.name") or "unknown",
            "parameters": f"{llama_cpp.llama_model_n_params(self._ptr):,}",
            "weights_bytes": f"{llama_cpp.llama_model_size(self._ptr):,}",
            "training_context": str(llama_cpp.llama_model_n_ctx_train(self._ptr)),
            "vocabulary": str(self.n_vocab),
        }


@dataclass(frozen=True)
class ContextConfig:
    n_ctx: int = 4096
    n_batch: int = 256
    n_threads: int = 2
    n_threads_batch: int = 2
    n_seq_max: int = 1
    kv_type: str = "f16"  # f16, q8_0 or q4_0 (quantized V needs flash attention: auto)
    flash_attention: bool | None = None  # None: llama.cpp decides (auto)


GGML_KV_TYPES = {
    "f16": llama_cpp.GGML_TYPE_F16,
    "q8_0": llama_cpp.GGML_TYPE_Q8_0,
    "q4_0": llama_cpp.GGML_TYPE_Q4_0,
}
_FLASH_ATTENTION = {
    None: llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO,
    True: llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED,
    False: llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED,
}
_NO_ABORT = llama_cpp.ggml_abort_callback()  # a NULL function pointer


class DecodeAborted(Exception):
    """The abort callback stopped `llama_decode`; the batch's KV entries are gone."""


class LlamaContext:
    """One llama.cpp context: a KV cache shared by up to `n_seq_max` sequences.

    The cache is unified (every sequence may use all `n_ctx` cells), so a sequence per
    recently used file costs only the cells its tokens occupy.
    """

    def __init__(self, model: LlamaModel, config: ContextConfig) -> None:
        params = llama_cpp.llama_context_default_params()
        set_fields(
            params,
            n_ctx=config.n_ctx,
            n_batch=config.n_batch,
            n_ubatch=config.n_batch,
            n_threads=config.n_threads,
            n_threads_batch=config.n_threads_batch,
            n_seq_max=config.n_seq_max,
            kv_unified=True,
            type_k=GGML_KV_TYPES[config.kv_type],
            type_v=GGML_KV_TYPES[config.kv_type],
            flash_attn_type=_FLASH_ATTENTION[config.flash_attention],
        )
        self._ptr = llama_cpp.llama_init_from_model(model.ptr, params)
        if not self._ptr:
            raise ModelLoadError("llama.cpp could not create a context (out of memory?)")
        self.model = model
        self.config = config
        self.n_ctx = int(llama_cpp.llama_n_ctx(self._ptr))
        self._memory = llama_cpp.llama_get_memory(self._ptr)
        self.can_shift = bool(llama_cpp.llama_memory_can_shift(self._memory))
        self._batch = llama_cpp.llama_batch_init(config.n_batch, 0, 1)
        self._abort_check: Callable[[], bool] | None = None
        # Kept referenced while installed: llama.cpp calls it from its compute threads.
        self._abort_callback = llama_cpp.ggml_abort_callback(self._should_abort)

    def _should_abort(self, _user_data: ctypes.c_void_p) -> bool:
        check = self._abort_check
        return bool(check is not None and check())

    def close(self) -> None:
        if self._ptr:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self._ptr)
            self._ptr = None

    def remove(self, seq: int, start: int = -1, end: int = -1) -> None:
        """Drop `seq` from the cells at positions [start, end) (-1: open ended)."""
        llama_cpp.llama_memory_seq_rm(self._memory, seq, start, end)

    def remove_from(self, position: int, seq: int = 0) -> None:
        """Drop the KV entries of `seq` from `position` on."""
        self.remove(seq, position, -1)

    def shift(self, seq: int, start: int, end: int, delta: int) -> None:
        """Move the cells of `seq` at [start, end) by `delta` positions (RoPE re-applied)."""
        llama_cpp.llama_memory_seq_add(self._memory, seq, start, end, delta)

    def copy(self, source: int, target: int, start: int, end: int) -> None:
        """Make the cells of `source` at [start, end) belong to `target` too (no data copied)."""
        llama_cpp.llama_memory_seq_cp(self._memory, source, target, start, end)

    def last_position(self, seq: int) -> int:
        return int(llama_cpp.llama_memory_seq_pos_max(self._memory, seq))

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self._memory, True)

    def decode(
        self,
        tokens: Sequence[int],
        start: int,
        *,
        want_logits: bool,
        seq: int = 0,
        abort: Callable[[], bool] | None = None,
    ) -> None:
        """Evaluate at most n_batch `tokens` of `seq` at positions start.. (logits for the last).

        `abort` is polled by llama.cpp during the computation; when it says yes the call
        raises `DecodeAborted` and the whole batch is missing from the cache.
        """
        if len(tokens) > self.config.n_batch:
            raise ValueError("decode() takes at most one batch of tokens")
        batch = self._batch
        batch.n_tokens = len(tokens)
        for index, token in enumerate(tokens):
            batch.token[index] = token
            batch.pos[index] = start + index
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = seq
            batch.logits[index] = 0
        if want_logits:
            batch.logits[len(tokens) - 1] = 1
        # Installed only for decodes that may be aborted: every graph node polls it, and
        # each poll takes the GIL.
        if abort is not None:
            self._abort_check = abort
            llama_cpp.llama_set_abort_callback(self._ptr, self._abort_callback, None)
        try:
            status = llama_cpp.llama_decode(self._ptr, batch)
        finally:
            if abort is not None:
                llama_cpp.llama_set_abort_callback(self._ptr, _NO_ABORT, None)
                self._abort_check = None
        if status == 2:
            raise DecodeAborted()
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status}")

    def last_logits(self) -> npt.NDArray[np.float32]:
        pointer = llama_cpp.llama_get_logits_ith(self._ptr, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.model.n_vocab,))

    def timings(self) -> tuple[float, int, float, int]:
        """llama.cpp's own totals: prompt ms, prompt tokens, generation ms, generated tokens."""
        data = llama_cpp.llama_perf_context(self._ptr)
        return (
            float(data.t_p_eval_ms),
            int(data.n_p_eval),
            float(data.t_eval_ms),
            int(data.n_eval),
        )
