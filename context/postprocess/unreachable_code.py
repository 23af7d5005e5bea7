"""Recognising suggested lines that would leave the code after the cursor unreachable.

Small fill-in-the-middle models often "finish" a function early: on a blank line in the
middle of a body they write `return result` although more statements follow in the same
block. Such a line ends its block while the code below it still sits in that block, so that
code could never run: a sign the model misread where it is, not a suggestion worth showing.
"""

from __future__ import annotations

import re

from context.indentation import indent_width
from context.languages import is_closers_only

_ENDS_BLOCK = re.compile(r"(return|raise|throw|break|continue)\b")
# Lines that control can still reach (the next branch of the same statement, a label),
# that are no code (a comment), or whose loss changes nothing (a bare `break`).
_REACHABLE_OR_EMPTY = re.compile(
    r"(else|elif|except|finally|catch|case|default)\b|[A-Za-z_]\w*:(?!:)|#|//|/\*|\*"
    r"|(break|continue|pass)\s*;?\s*$"
)


def ends_block(line: str) -> bool:
    """Whether a line is a statement after which its block's remaining code never runs."""
    return bool(_ENDS_BLOCK.match(line.strip()))


def strands_following_code(line: str, width: int, following: str | None) -> bool:
    """Whether `line`, placed at indentation `width`, makes the next code line unreachable.

    `following` is the first non-blank line after the suggestion. It is stranded when it
    sits at the same indentation or deeper (so in the same block) and is neither a closing
    bracket, a place control can still reach (`else:`, `case 2:`, a label), nor a bare
    `break` whose loss changes nothing.
    """
    if following is None or not ends_block(line):
        return False
    code = following.strip()
    if not code or is_closers_only(code) or _REACHABLE_OR_EMPTY.match(code):
        return False
    return indent_width(following) >= width
