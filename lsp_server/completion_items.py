"""A suggestion as LSP answers: inline completion items and completion-popup items.

Positions here are in the client's negotiated units (UTF-16 unless the client chose
UTF-8 or UTF-32); `units` converts a piece of text on the cursor's line into them.
"""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types

from context import Suggestion

MAX_LABEL_CHARS = 80


def _replaced_range(
    cursor: types.Position, suggestion: Suggestion, rest_of_line: str, units: Callable[[str], int]
) -> types.Range:
    replaced = rest_of_line[: suggestion.replace_chars]
    end = types.Position(cursor.line, cursor.character + units(replaced))
    return types.Range(cursor, end)


ACCEPTED_COMMAND = "fimble.accepted"


def inline_completion_list(
    cursor: types.Position,
    suggestion: Suggestion,
    rest_of_line: str,
    units: Callable[[str], int],
    uri: str,
) -> types.InlineCompletionList:
    """One ghost-text item; the client runs its command when the user accepts it."""
    item = types.InlineCompletionItem(
        insert_text=suggestion.text,
        range=_replaced_range(cursor, suggestion, rest_of_line, units),
        command=types.Command("fimble: suggestion accepted", ACCEPTED_COMMAND, arguments=[uri]),
    )
    return types.InlineCompletionList(items=[item])


def word_before(line_prefix: str) -> str:
    """The identifier characters right before the cursor (what the client filters by)."""
    start = len(line_prefix)
    while start > 0 and (line_prefix[start - 1].isalnum() or line_prefix[start - 1] == "_"):
        start -= 1
    return line_prefix[start:]


def popup_completion_list(
    cursor: types.Position,
    suggestion: Suggestion,
    line_prefix: str,
    rest_of_line: str,
    units: Callable[[str], int],
    show_documentation: bool = True,
) -> types.CompletionList:
    """One item that inserts the whole suggestion and keeps matching as the user types it.

    The documentation (the whole suggestion, for multi-line previews) is plain text, sent
    only to clients that declared they render plain text.
    """
    word = word_before(line_prefix)
    replaced = _replaced_range(cursor, suggestion, rest_of_line, units)
    start = types.Position(cursor.line, cursor.character - units(word))
    first_line = suggestion.text.split("\n", 1)[0]
    label = (first_line.strip() or suggestion.text.strip().split("\n", 1)[0])[:MAX_LABEL_CHARS]
    item = types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Text,
        detail="fimble",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.PlainText, value=word + suggestion.text
        )
        if show_documentation
        else None,
        filter_text=word + first_line,
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(types.Range(start, replaced.end), word + suggestion.text),
    )
    return types.CompletionList(is_incomplete=True, items=[item])
