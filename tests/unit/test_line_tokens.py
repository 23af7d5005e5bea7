"""Line-by-line tokenization equals whole-text tokenization, on real source files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from engines.line_tokens import LineTokenizer, lines_of
from engines.llama_runtime import LlamaModel
from engines.model_files import DEFAULT_MODEL, resolve_model_path

VOCABS = Path(__file__).resolve().parents[1] / "fixtures" / "vocab"
SOURCES = [
    *sorted(Path(json.__file__).parent.glob("*.py")),
    *sorted(Path(asyncio.__file__).parent.glob("*.py"))[:12],
]


def test_lines_of_keeps_every_character() -> None:
    text = "a = 1\n\n  \n    b\r\nc\n"
    assert "".join(lines_of(text)) == text
    assert list(lines_of(text)) == ["a = 1\n\n  \n", "    b\r\n", "c\n"]


@pytest.mark.parametrize(
    "vocabulary",
    [
        # The default model's vocabulary, resolved in the test: collecting assembles nothing.
        pytest.param(None, id=Path(DEFAULT_MODEL.file_name).stem, marks=pytest.mark.model),
        *(pytest.param(path, id=path.stem) for path in sorted(VOCABS.glob("*.gguf"))),
    ],
)
def test_same_ids_as_whole_text(vocabulary: Path | None) -> None:
    model = LlamaModel(vocabulary or resolve_model_path(None), vocab_only=True)
    try:
        tokenize = LineTokenizer(model.tokenize)
        for source in SOURCES:
            text = source.read_text()
            assert tokenize(text) == model.tokenize(text), source.name
            edited = text[: len(text) // 2] + "x" + text[len(text) // 2 :]
            assert tokenize(edited) == model.tokenize(edited), source.name
    finally:
        model.close()


@pytest.mark.model
def test_the_default_vocabulary_goes_line_by_line() -> None:
    model = LlamaModel(resolve_model_path(None), vocab_only=True)
    try:
        assert LineTokenizer(model.tokenize).line_by_line
    finally:
        model.close()
