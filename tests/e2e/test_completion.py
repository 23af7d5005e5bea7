"""The real default model completes real code through `fimble serve` over stdio."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import inline_at, only_text, open_document

pytestmark = pytest.mark.model


async def test_capabilities_are_advertised(client: LanguageClient) -> None:
    capabilities = client.initialize_result.capabilities  # type: ignore[attr-defined]
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    sync = capabilities.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf16


async def test_body_line_of_a_small_function(client: LanguageClient) -> None:
    uri = "file:///work/add.py"
    text = "def add(a, b):\n    return \n\n\nprint(add(2, 3))\n"
    open_document(client, uri, text)
    result = await inline_at(client, uri, 1, len("    return "))
    assert only_text(result).replace(" ", "") in {"a+b", "b+a"}


async def test_the_suffix_is_the_cursors_own_function_not_the_next(
    client: LanguageClient,
) -> None:
    """`return |` at the end of a body belongs to that function: the neighbour below is not
    shown as what follows (the model copied `a - b` from it)."""
    uri = "file:///work/arith.py"
    text = (
        "def add(a, b):\n"
        '    """Return the sum of a and b."""\n'
        "    return \n"
        "\n"
        "\n"
        "def sub(a, b):\n"
        '    """Return a minus b."""\n'
        "    return a - b\n"
    )
    open_document(client, uri, text)
    result = await inline_at(client, uri, 2, len("    return "))
    assert only_text(result).replace(" ", "") in {"a+b", "b+a"}


async def test_block_after_an_opener_stops_where_the_block_ends(client: LanguageClient) -> None:
    uri = "file:///work/squares.py"
    text = (
        "def squares(numbers):\n"
        '    """Return the square of each number."""\n'
        "    \n"
        "\n"
        "\n"
        "def cubes(numbers):\n"
        "    return [n ** 3 for n in numbers]\n"
    )
    open_document(client, uri, text)
    result = await inline_at(client, uri, 2, 4)  # auto-indented, as editors leave it
    suggestion = only_text(result)
    assert "**2" in suggestion.replace(" ", "") or "n*n" in suggestion.replace(" ", "")
    assert "def cubes" not in suggestion
    # The first line continues the editor's indentation; later lines stay inside the body.
    assert all(line.startswith("    ") for line in suggestion.splitlines()[1:] if line.strip())


async def test_completion_fallback_item(client: LanguageClient) -> None:
    uri = "file:///work/mul.py"
    text = "def multiply(x, y):\n    return x\n"
    open_document(client, uri, text)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(1, len("    return x")),
        )
    )
    assert isinstance(result, types.CompletionList)
    assert len(result.items) == 1
    item = result.items[0]
    edit = item.text_edit
    assert isinstance(edit, types.TextEdit)
    # The edit starts at the word being typed ("x") so the client's filter keeps matching.
    assert edit.range.start == types.Position(1, len("    return "))
    assert edit.new_text.startswith("x") and "y" in edit.new_text
    assert item.filter_text is not None and item.filter_text.startswith("x")
    assert item.label == edit.new_text[1:].split("\n")[0].strip()
    assert item.documentation is None  # this client declared no documentation format


async def test_closing_bracket_is_superseded(client: LanguageClient) -> None:
    uri = "file:///work/greet.py"
    text = 'def greet(name):\n    print("Hello, " + name)\n\n\ngreet()\n'
    open_document(client, uri, text)
    result = await inline_at(client, uri, 4, len("greet("))
    assert len(result.items) == 1
    item = result.items[0]
    assert isinstance(item.insert_text, str) and item.range is not None
    # The suggestion closes the call itself and replaces the ")" the editor had inserted.
    assert item.range.start == types.Position(4, len("greet("))
    assert item.range.end == types.Position(4, len("greet()")), item
    assert ")" in item.insert_text, item
    line = "greet()"
    edited = (
        line[: item.range.start.character] + item.insert_text + line[item.range.end.character :]
    )
    assert edited.startswith("greet(") and edited.count("(") == edited.count(")"), edited
