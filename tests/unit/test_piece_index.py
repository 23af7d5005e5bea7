"""The token-healing index agrees with a scan of the whole vocabulary."""

from __future__ import annotations

import random

import numpy as np
import pytest

from engines.llama_runtime import LlamaModel
from engines.model_files import resolve_model_path
from engines.piece_index import PieceIndex


def _scan(pieces: list[bytes], required: bytes) -> np.ndarray:
    return np.array(
        [p.startswith(required) and b"\n" not in p[len(required) :] for p in pieces],
        dtype=np.bool_,
    )


@pytest.fixture(scope="module")
def pieces() -> list[bytes]:
    rng = random.Random(3)
    alphabet = [b"a", b"b", b" ", b"\n", b"_", b"\xff", b"\x00", b"\xc3\xa9"]
    made = {b"", b"\xff", b"\xff\xff", b"a\xff", b"a\xff\xff", b"ab\n", b" \n", b"b"}
    while len(made) < 3000:
        made.add(b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))))
    return sorted(made, key=lambda _: rng.random())  # ids in no particular order


@pytest.mark.parametrize(
    "required", [b"a", b" ", b"ab", b"a\xff", b"\xff", b"\xff\xff", b"_b ", b"\xc3", b"zz", b""]
)
def test_healing_mask_equals_a_full_scan(pieces: list[bytes], required: bytes) -> None:
    index = PieceIndex(pieces)
    assert np.array_equal(index.healing_mask(required), _scan(pieces, required))
    found = index.starting_with(required)
    assert sorted(int(t) for t in found) == [
        t for t, p in enumerate(pieces) if p.startswith(required)
    ]
    assert sorted(index.equal_to(required)) == [t for t, p in enumerate(pieces) if p == required]


@pytest.mark.model
def test_the_default_models_vocabulary() -> None:
    model = LlamaModel(resolve_model_path(None), vocab_only=True)
    try:
        vocabulary = model.pieces()
        index = PieceIndex(vocabulary)
        for required in (b" ", b" re", b"self", b".", b"(", b"    ", b"\xe2\x80", b"zzzq"):
            assert np.array_equal(index.healing_mask(required), _scan(vocabulary, required))
    finally:
        model.close()
