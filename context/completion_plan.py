"""Deciding what kind of completion to ask for, and what context to show.

Before anything is generated, the server needs to know whether a completion
makes sense at the cursor, how much the model may write (rest of a line, a
block, or a short phrase in a string/comment), and which prefix and suffix fit
the prompt's token budgets. This module turns (document, cursor) into that
plan, or None when completing here would only get in the way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from context.code_structure import (
    cursor_in_string_or_comment,
    enclosing_unit,
    error_touches_line,
    is_definition_like,
    line_prefix_in_literal,
    preceding_unit,
)
from context.cursor import Cursor
from context.indentation import indent_width
from context.languages import (
    ends_with_block_opener,
    is_closers_only,
    is_identifier_char,
    is_indentation_scoped,
    line_comment_prefix,
)
from context.member_names import MemberAccess
from context.prompt_window import prefix_window, suffix_window
from context.syntax_tree import SyntaxTree, parse_document

BLOCK_MAX_LINES = 16
_PLAIN_BLOCK_ENDERS = frozenset({"end", "fi", "done", "esac", "endif", "endfor", "endwhile"})

# The prefix window starts on a multiple of this many lines (see `prefix_window`).
PREFIX_ANCHOR_LINES = 32


class CompletionMode(enum.Enum):
    LINE = "line"
    BLOCK = "block"
    SHORT = "short"


@dataclass(frozen=True)
class CompletionPlan:
    language_id: str
    prefix: str
    suffix: str
    mode: CompletionMode
    cursor: Cursor
    max_lines: int
    # Where the prefix starts when it starts at a document anchor (see `DocumentSegments`):
    # the line number; None for a plain window.
    anchor_line: int | None = None
    # The members that may follow an access at the cursor, where all are known (set by the
    # caller from the workspace; see `context.member_names`).
    member: MemberAccess | None = None

    @property
    def line_prefix(self) -> str:
        return self.cursor.line_prefix

    @property
    def rest_of_line(self) -> str:
        return self.cursor.rest_of_line


def plan_completion(
    text: str,
    offset: int,
    language_id: str,
    count_tokens: Callable[[str], int],
    prefix_tokens: int,
    suffix_tokens: int,
    anchor_lines: int = PREFIX_ANCHOR_LINES,
) -> CompletionPlan | None:
    """Plan a completion at str offset `offset`, or return None if none fits there."""
    line = Cursor.at(text, offset)
    tree = parse_document(text, language_id)
    mode = _decide_mode(offset, line, tree, language_id)
    if mode is None:
        return None
    limit = _suffix_limit(text, offset, line, tree, language_id)
    return CompletionPlan(
        language_id=language_id,
        prefix=prefix_window(text, offset, count_tokens, prefix_tokens, anchor_lines),
        suffix=suffix_window(text, offset, limit, count_tokens, suffix_tokens),
        mode=mode,
        cursor=line,
        max_lines=BLOCK_MAX_LINES if mode is CompletionMode.BLOCK else 1,
    )


def _decide_mode(
    offset: int, line: Cursor, tree: SyntaxTree | None, language_id: str
) -> CompletionMode | None:
    in_literal = _in_string_or_comment(offset, line, tree, language_id)
    if _splits_word(line.line_prefix, line.rest_of_line, ascii_only=in_literal):
        return None
    if in_literal:
        return CompletionMode.SHORT
    rest = line.rest_of_line.strip()
    if rest and not is_closers_only(rest):
        return None if _follows_complete_statement(line.line_prefix) else CompletionMode.LINE
    if rest:
        return CompletionMode.LINE
    if not line.line_prefix.strip() or ends_with_block_opener(line.line_prefix, language_id):
        return CompletionMode.BLOCK
    return CompletionMode.LINE


def _in_string_or_comment(
    offset: int, line: Cursor, tree: SyntaxTree | None, language_id: str
) -> bool:
    if tree is None:
        # Without a grammar only languages with a known comment syntax are worth scanning;
        # in prose an apostrophe is not a quote.
        return bool(line_comment_prefix(language_id)) and line_prefix_in_literal(
            line.line_prefix, language_id
        )
    inside = cursor_in_string_or_comment(tree, offset)
    if inside is not None:
        return inside
    return error_touches_line(tree, offset) and line_prefix_in_literal(
        line.line_prefix, language_id
    )


def _splits_word(left: str, right: str, *, ascii_only: bool) -> bool:
    if not left or not right:
        return False
    before, after = left[-1], right[0]
    if ascii_only and not (before.isascii() and after.isascii()):
        return False
    return is_identifier_char(before) and is_identifier_char(after)


def _follows_complete_statement(line_prefix: str) -> bool:
    """Code lies right of the cursor and what is left of it is already a finished unit."""
    stripped = line_prefix.rstrip()
    return not stripped or stripped.endswith((";", "}"))


def _suffix_limit(
    text: str, offset: int, line: Cursor, tree: SyntaxTree | None, language_id: str
) -> int:
    line_end = min(line.line_end + 1, len(text))
    if tree is None:
        return _indentation_limit(text, line_end)
    unit = enclosing_unit(tree, offset, language_id)
    if unit is not None and unit.is_error:
        return _indentation_limit(text, line_end)
    if unit is not None:
        return max(_end_of_line_at(text, tree.char_offset(unit.end_byte)), line_end)
    if is_indentation_scoped(language_id) and _trails_indented_unit(text, offset, line, tree):
        return line_end
    return len(text)


def _trails_indented_unit(text: str, offset: int, line: Cursor, tree: SyntaxTree) -> bool:
    """An indented line just below a definition's last statement still belongs to it."""
    if indent_width(text[line.line_start : line.line_end]) == 0:
        return False
    previous = preceding_unit(tree, offset)
    return previous is not None and is_definition_like(previous)


def _end_of_line_at(text: str, position: int) -> int:
    if position > 0 and text[position - 1] == "\n":
        return position
    newline = text.find("\n", position)
    return len(text) if newline < 0 else newline + 1


def _indentation_limit(text: str, line_end: int) -> int:
    """End of the indented region below the cursor: stop before the next line at column 0."""
    position = line_end
    first = True
    while position < len(text):
        newline = text.find("\n", position)
        next_position = len(text) if newline < 0 else newline + 1
        current = text[position:next_position]
        stripped = current.strip()
        if not first and stripped and indent_width(current) == 0:
            if is_closers_only(stripped) or stripped in _PLAIN_BLOCK_ENDERS:
                return next_position
            return position
        first = False
        position = next_position
    return position
