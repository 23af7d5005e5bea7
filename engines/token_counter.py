"""Token counts for budgeting, off the inference thread.

Budgeting cross-file context needs many token counts per request. llama.cpp's tokenizer
lives with the model on the inference thread; a tiktoken `Encoding` built from the same GGUF
vocabulary counts identically (for byte-level BPE vocabularies such as Qwen2's) from any
thread. The vocabulary is read straight from the GGUF header (only the key/value section, not
the tensors). Vocabularies whose pre-tokenizer we cannot reproduce do not convert: the caller
then falls back to the engine's own tokenizer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import tiktoken

from engines.gguf_header import GgufMetadataError, read_gguf_metadata

TokenCounter = Callable[[str], int]

# llama.cpp's pre-tokenizer types whose split regex we know, as tiktoken patterns.
_QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PRE_TOKENIZER_PATTERNS: dict[str, str] = {"qwen2": _QWEN2_PATTERN}

_NORMAL, _USER_DEFINED = 1, 4
_WANTED_KEYS = frozenset(
    {
        "tokenizer.ggml.model",
        "tokenizer.ggml.pre",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.token_type",
    }
)


class VocabularyNotConvertible(Exception):
    """The GGUF's tokenizer cannot be reproduced with tiktoken."""


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-printable-character map, inverted (byte-level BPE spells bytes so)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(char): byte for byte, char in zip(printable, chars, strict=True)}


def read_vocabulary_metadata(path: Path) -> dict[str, Any]:
    """The tokenizer keys of a GGUF file (reads the header only)."""
    try:
        return read_gguf_metadata(path, _WANTED_KEYS)
    except GgufMetadataError as error:
        raise VocabularyNotConvertible(str(error)) from error


def encoding_from_gguf(path: Path) -> tiktoken.Encoding:
    """A tiktoken encoding equal to llama.cpp's tokenizer for this GGUF (special parsing off).

    Raises VocabularyNotConvertible where that equality cannot be had.
    """
    meta = read_vocabulary_metadata(path)
    model = meta.get("tokenizer.ggml.model")
    pre = meta.get("tokenizer.ggml.pre")
    pre_name = pre if isinstance(pre, str) else ""
    if model != "gpt2" or pre_name not in PRE_TOKENIZER_PATTERNS:
        raise VocabularyNotConvertible(f"tokenizer {model!r}/{pre_name!r} is not convertible")
    tokens = meta["tokenizer.ggml.tokens"]
    kinds = meta["tokenizer.ggml.token_type"]
    assert isinstance(tokens, list) and isinstance(kinds, list)
    decoder = _byte_decoder()
    ranks: dict[bytes, int] = {}
    always_split: dict[str, int] = {}
    for token_id, (spelled, kind) in enumerate(zip(tokens, kinds, strict=True)):
        text = spelled.decode("utf-8")
        if kind == _NORMAL:
            try:
                ranks[bytes(decoder[char] for char in text)] = token_id
            except KeyError as error:
                raise VocabularyNotConvertible("a token is not byte-level BPE") from error
        elif kind == _USER_DEFINED:
            # llama.cpp matches user-defined tokens even with special parsing off.
            always_split[text] = token_id
    if any(bytes([byte]) not in ranks for byte in range(256)):
        raise VocabularyNotConvertible("the vocabulary lacks some single bytes")
    return tiktoken.Encoding(
        name=f"gguf:{path.name}",
        pat_str=PRE_TOKENIZER_PATTERNS[pre_name],
        mergeable_ranks=ranks,
        special_tokens=always_split,
    )


def gguf_token_counter(path: Path) -> TokenCounter:
    """Counts tokens as llama.cpp would, without the model; raises if not convertible."""
    encoding = encoding_from_gguf(path)
    allowed = frozenset(encoding.special_tokens_set)

    def count(text: str) -> int:
        return len(encoding.encode(text, allowed_special=allowed, disallowed_special=()))

    return count
