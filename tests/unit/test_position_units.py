"""The fast position codec answers as pygls's own does, for any text and position."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from lsp_server.position_units import FastPositionCodec

ENCODINGS = [
    types.PositionEncodingKind.Utf16,
    types.PositionEncodingKind.Utf8,
    types.PositionEncodingKind.Utf32,
]
CHARACTERS = st.sampled_from(["a", " ", "é", "中", "😀", "\r", "\n", "\r\n", "\t", "\ud800"])
TEXTS = st.lists(CHARACTERS, max_size=30).map("".join)


@pytest.mark.parametrize("encoding", ENCODINGS)
@settings(max_examples=300, deadline=None)
@given(text=TEXTS, line=st.integers(0, 4), character=st.integers(0, 80))
def test_the_same_positions_as_pygls(
    encoding: types.PositionEncodingKind, text: str, line: int, character: int
) -> None:
    slow, fast = PositionCodec(encoding), FastPositionCodec(encoding)
    lines = text.splitlines(True)
    assert fast.client_num_units(text) == slow.client_num_units(text)
    assert fast.position_from_client_units(
        lines, types.Position(line, character)
    ) == slow.position_from_client_units(lines, types.Position(line, character))
    if line < len(lines):
        character = min(character, len(lines[line]))
    assert fast.position_to_client_units(
        lines, types.Position(line, character)
    ) == slow.position_to_client_units(lines, types.Position(line, character))
