"""The fast position codec answers as pygls's own does, for any text and position; a document's
lines are what LSP counts and cost little memory."""

from __future__ import annotations

import re
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from context.line_breaks import LspLines
from lsp_server.position_units import FastPositionCodec, LspLinesDocument

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


# LSP's definition of a line, as a regular expression: the reference the line view is held to.
LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
LINE_PIECES = st.sampled_from(["a", "\r", "\n", "\r\n", "\x0c", "\u2028", "é"])
LINE_TEXTS = st.lists(LINE_PIECES, max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=LINE_TEXTS, index=st.integers(-12, 12), start=st.integers(-12, 12))
def test_line_view_reads_as_the_split_lines(text: str, index: int, start: int) -> None:
    expected, view = LSP_LINE.findall(text), LspLines(text)
    assert len(view) == len(expected) and list(view) == expected
    if -len(expected) <= index < len(expected):
        assert view[index] == expected[index]
    else:
        with pytest.raises(IndexError):
            view[index]
    assert view[start:index] == expected[start:index]


def test_a_long_documents_lines_cost_little_memory() -> None:
    text = "x = 1\n" * 300_000  # 1.8 MB: its lines as strings took 18 MB more
    document = LspLinesDocument("file:///work/long.py", source=text)
    tracemalloc.start()
    try:
        lines = document.lines
        assert len(lines) == 300_000 and lines[123_456] == "x = 1\n"
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 4_000_000, held


EDIT_TEXTS = st.lists(st.sampled_from(["a", "\n", "\r\n", "\r", "é", "😀", "\x0c"]), max_size=20)


@settings(max_examples=500, deadline=None)
@given(
    text=EDIT_TEXTS.map("".join),
    inserted=EDIT_TEXTS.map("".join),
    start=st.tuples(st.integers(0, 6), st.integers(0, 8)),
    end=st.tuples(st.integers(0, 6), st.integers(0, 8)),
)
def test_an_edit_by_offsets_gives_what_pygls_rewrite_gives(
    text: str, inserted: str, start: tuple[int, int], end: tuple[int, int]
) -> None:
    """Any range, reversed or past the end, in UTF-16 units: the same text as pygls's
    line-by-line rewrite over the same lines."""
    change = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(*start), types.Position(*end)), text=inserted
    )
    fast, rewritten = (
        LspLinesDocument("file:///work/a.py", source=text, position_codec=FastPositionCodec())
        for _ in range(2)
    )
    fast._apply_incremental_change(change)
    TextDocument._apply_incremental_change(rewritten, change)
    assert fast.source == rewritten.source
