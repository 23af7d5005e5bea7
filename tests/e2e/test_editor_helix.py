"""Helix's request pattern against `fimble serve`.

Helix (checked in its source, handlers/completion/request.rs) sends its first automatic
completion request with triggerKind Invoked (later ones, while its list stays open, as
TriggerForIncompleteCompletions), never sends `$/cancelRequest`, and keeps typing
(incremental didChange) while its requests are in flight. So the server must answer every
request, answer the stale ones (for an older document version) at once and empty, and give
the newest one the real suggestion.
"""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import open_document

pytestmark = pytest.mark.model

URI = "file:///work/helix/shapes.py"
BEFORE = 'def rectangle_area(width, height):\n    """Area of a rectangle."""\n'
AFTER = "\n\ndef triangle_area(base, height):\n    return base * height / 2\n"
TYPED = "    return width * h"  # 20 keystrokes on an empty line


def typed(client: LanguageClient, version: int, line: int, column: int, text: str) -> None:
    """One keystroke as Helix sends it: an incremental change, the document's new version."""
    at = types.Position(line, column)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)
            ],
        )
    )


async def completion(client: LanguageClient, line: int, column: int) -> asyncio.Future[object]:
    """A request sent now (not awaited) and never cancelled: Helix has no `$/cancelRequest`."""
    request = asyncio.ensure_future(
        client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(URI),
                position=types.Position(line, column),
                context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
            )
        )
    )
    await asyncio.sleep(0)  # pytest-lsp writes the request when its task first runs
    return request


def items_of(answer: object) -> list[types.CompletionItem]:
    assert isinstance(answer, types.CompletionList), answer
    return list(answer.items)


async def test_rapid_typing_every_request_answered_stale_ones_empty(
    client: LanguageClient,
) -> None:
    open_document(client, URI, BEFORE + "\n" + AFTER)
    line = BEFORE.count("\n")
    answered: list[int] = []
    requests: list[asyncio.Future[object]] = []
    for index, char in enumerate(TYPED):
        typed(client, version=index + 2, line=line, column=index, text=char)
        request = await completion(client, line, index + 1)
        request.add_done_callback(lambda _, index=index: answered.append(index))
        requests.append(request)
    answers = await asyncio.gather(*requests)

    assert sorted(answered) == list(range(len(TYPED))), "every request gets an answer"
    assert answered[-1] == len(TYPED) - 1, "the stale requests are answered before the newest"
    for stale in answers[:-1]:
        assert items_of(stale) == []
    (item,) = items_of(answers[-1])
    assert item.detail == "fimble"
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.new_text.startswith("height"), item
    assert item.text_edit.range.start == types.Position(line, len(TYPED) - 1)


async def test_a_request_outrun_by_typing_alone_is_answered_empty(client: LanguageClient) -> None:
    """Helix asks once after an idle pause; keystrokes that follow bring no new request."""
    open_document(client, URI, BEFORE + "    return \n" + AFTER)
    line = BEFORE.count("\n")
    outrun = await completion(client, line, len("    return "))
    typed(client, version=2, line=line, column=len("    return "), text="w")
    assert items_of(await outrun) == []
    (item,) = items_of(await (await completion(client, line, len("    return w"))))
    assert item.text_edit is not None and "height" in item.text_edit.new_text, item
