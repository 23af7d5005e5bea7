"""While the user types, a long block stops at a line break once its decoding time is up.

With `typingDecodeMs` at 1 ms every line break comes after the limit, so an automatic
request ends at the first complete line that opens no block; the same request invoked by the
user gets the whole block. The outcome does not depend on the machine's speed.
"""

from __future__ import annotations

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import StartServer, inline_at, only_text, open_document

FIBONACCI = "def fibonacci(n):\n    \n\n\nprint(fibonacci(10))\n"


async def test_an_automatic_request_stops_at_the_first_line_break_after_the_limit(
    start_server: StartServer,
) -> None:
    client = await start_server({"typingDecodeMs": 1})
    open_document(client, "file:///work/typed.py", FIBONACCI)
    open_document(client, "file:///work/invoked.py", FIBONACCI)
    typed = only_text(
        await inline_at(
            client, "file:///work/typed.py", 1, 4, types.InlineCompletionTriggerKind.Automatic
        )
    )
    invoked = only_text(await inline_at(client, "file:///work/invoked.py", 1, 4))
    typed_lines, invoked_lines = typed.split("\n"), invoked.split("\n")
    # The first line opens a block, so its first body line completes the suggestion.
    assert len(typed_lines) == 2 and typed_lines[0].rstrip().endswith(":"), typed
    assert len(invoked_lines) > 2 and invoked_lines[:2] == typed_lines, invoked
    # The model writes this block 4 columns deeper than the body; it is moved back whole.
    compile(FIBONACCI.replace("    \n", "    " + invoked + "\n", 1), "typed.py", "exec")


async def popup_text(client: LanguageClient, uri: str, trigger: types.CompletionTriggerKind) -> str:
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(1, 4),
            context=types.CompletionContext(trigger_kind=trigger),
        )
    )
    assert isinstance(result, types.CompletionList) and len(result.items) == 1, result
    edit = result.items[0].text_edit
    assert isinstance(edit, types.TextEdit), edit
    return edit.new_text


async def test_a_popup_asked_for_while_typing_stops_at_the_first_line_break_after_the_limit(
    start_server: StartServer,
) -> None:
    # Popups re-asked as the user types on (an incomplete list: how Helix asks after the first
    # keystroke) or opened by a trigger character are typing; only Invoked is the user asking.
    client = await start_server({"typingDecodeMs": 1})
    kinds = types.CompletionTriggerKind
    texts: dict[types.CompletionTriggerKind, list[str]] = {}
    for kind in (kinds.TriggerForIncompleteCompletions, kinds.TriggerCharacter, kinds.Invoked):
        uri = f"file:///work/popup-{kind.value}.py"
        open_document(client, uri, FIBONACCI)
        texts[kind] = (await popup_text(client, uri, kind)).split("\n")
    invoked = texts.pop(kinds.Invoked)
    for typed in texts.values():
        assert len(typed) == 2 and typed[0].rstrip().endswith(":"), typed
        assert len(invoked) > 2 and invoked[:2] == typed, invoked
