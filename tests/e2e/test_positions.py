"""Positions in the negotiated encoding: UTF-16 by default, UTF-8 and UTF-32 on request."""

from __future__ import annotations

import pytest
from lsprotocol import types

from tests.e2e.conftest import StartServer, inline_at, open_document

pytestmark = pytest.mark.model

SOURCE = 'def add(a, b):\n    return a + b\n\n\nlabel = "😀 中文 😀"; total = add()  # 合計\n'
LINE = 4
CURSOR = SOURCE.splitlines()[LINE].index("add(") + len("add(")


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def index_of(line: str, character: int, encoding: str) -> int:
    """Code-point index of a client column."""
    for index in range(len(line) + 1):
        if units(line[:index], encoding) == character:
            return index
    raise AssertionError(f"column {character} splits a character")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
async def test_emoji_and_cjk_columns(start_server: StartServer, encoding: str) -> None:
    client = await start_server(encodings=[encoding])
    negotiated = client.initialize_result.capabilities.position_encoding  # type: ignore[attr-defined]
    assert negotiated == encoding
    uri = f"file:///work/unicode-{encoding}.py"
    open_document(client, uri, SOURCE)
    line = SOURCE.splitlines()[LINE]
    column = units(line[:CURSOR], encoding)
    assert column != CURSOR or encoding == "utf-32"
    result = await inline_at(client, uri, LINE, column)
    assert len(result.items) == 1
    item = result.items[0]
    assert item.range is not None and item.range.start == types.Position(LINE, column)
    start = index_of(line, item.range.start.character, encoding)
    end = index_of(line, item.range.end.character, encoding)
    assert isinstance(item.insert_text, str)
    edited = line[:start] + item.insert_text + line[end:]
    # The arguments land inside the call, the comment with CJK text stays intact after it.
    assert edited.startswith('label = "😀 中文 😀"; total = add(')
    assert edited.endswith(")  # 合計")
    assert edited.count("(") == edited.count(")")
