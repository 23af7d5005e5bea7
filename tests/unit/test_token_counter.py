"""The tiktoken encoding built from the GGUF counts exactly as llama.cpp tokenizes."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pygls
import pytest

from engines.llama_runtime import LlamaModel
from engines.model_files import assemble_embedded_model
from engines.token_counter import VocabularyNotConvertible, encoding_from_gguf, gguf_token_counter

VOCAB_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vocab"


def _corpus() -> list[Path]:
    """Real source files not written for this test: stdlib modules and pygls."""
    stdlib = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    pygls_files = sorted(Path(pygls.__file__).parent.rglob("*.py"))
    return stdlib[::2] + pygls_files


@pytest.mark.model
def test_default_model_counts_agree_with_llama_cpp_on_real_files() -> None:
    path = assemble_embedded_model()
    encoding = encoding_from_gguf(path)
    count = gguf_token_counter(path)
    model = LlamaModel(path, vocab_only=True)
    try:
        files = _corpus()
        assert len(files) > 80
        compared = 0
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            expected = model.tokenize(text, special=False)
            ids = encoding.encode(
                text, allowed_special=encoding.special_tokens_set, disallowed_special=()
            )
            assert ids == expected, f"token ids differ on {file}"
            assert count(text) == len(expected)
            compared += 1
        # Marker strings stay plain text (special parsing off), as in the engine.
        tricky = "x = '<|fim_prefix|>' + \"<|endoftext|>\"  # ünïcode 𝔘 \t\r\n  \n"
        assert count(tricky) == len(model.tokenize(tricky, special=False))
        assert compared > 80
    finally:
        model.close()


# Vocabularies whose pre-tokenizer the counter knows (PRE_TOKENIZER_PATTERNS): these must
# convert, so that a counter refusing everything fails here.
MUST_CONVERT = {"qwen2"}


@pytest.mark.parametrize("name", ["gpt-2", "deepseek-coder", "starcoder", "qwen2"])
def test_other_vocabularies_convert_exactly_or_refuse(name: str) -> None:
    path = VOCAB_FIXTURES / f"ggml-vocab-{name}.gguf"
    try:
        count = gguf_token_counter(path)
    except VocabularyNotConvertible:
        assert name not in MUST_CONVERT, f"{name} should convert"
        return  # the server falls back to llama.cpp's tokenizer
    model = LlamaModel(path, vocab_only=True)
    try:
        for file in sorted(Path(pygls.__file__).parent.rglob("*.py")):
            text = file.read_text(encoding="utf-8")
            assert count(text) == len(model.tokenize(text)), f"counts differ on {file}"
    finally:
        model.close()
