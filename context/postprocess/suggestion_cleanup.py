"""Pure text fixes applied to a finished completion before it is shown.

Each function repairs one habitual model mistake (trailing whitespace, an
over-indented first line, a doubled space, closing brackets that already
exist right of the cursor) so that accepting the suggestion leaves the
document looking as if a careful person had typed it.
"""

from __future__ import annotations

from context.indentation import indent_width
from context.languages import (
    OPEN_TO_CLOSE,
    QUOTE_CHARS,
    ends_with_block_opener,
    is_closers_only,
)
from context.postprocess.block_scanner import fit_first_line


def tidy_lines(text: str, prefix_is_blank: bool) -> str:
    """Strip trailing whitespace and trailing blank lines; tame leading blank lines.

    On a blank cursor line the first real line goes right at the cursor; after
    an opener at most one line break is kept before it.
    """
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    leading = 0
    while leading < len(lines) and not lines[leading]:
        leading += 1
    keep_break = 0 if prefix_is_blank else min(leading, 1)
    return "\n".join([""] * keep_break + lines[leading:])


def fix_first_line(text: str, line_prefix: str, expected: int | None, keep_spaces: bool) -> str:
    """Correct the whitespace where the suggestion meets the text left of the cursor."""
    first, newline, rest = text.partition("\n")
    if not line_prefix.strip():
        first = fit_first_line(first, line_prefix, expected)
    elif line_prefix[-1] in " \t" and first[:1] in (" ", "\t"):
        first = first[1:] if keep_spaces else first.lstrip(" \t")
    return first + newline + rest


def superseded_chars(text: str, line_prefix: str, rest_of_line: str) -> int:
    """How many characters right of the cursor a one-line suggestion should replace.

    The suggestion supersedes the rest of the line when it already ends with it
    (`foo(|)` + `a, b)`), or, for closers only, when it contains them in order
    and keeping them would unbalance the line.
    """
    rest = rest_of_line.strip()
    if not rest or "\n" in text:
        return 0
    kept_score = _imbalance(line_prefix + text + rest_of_line)
    replaced_score = _imbalance(line_prefix + text)
    ends_with_rest = text.rstrip().endswith(rest)
    if not is_closers_only(rest):
        return len(rest_of_line) if ends_with_rest and replaced_score <= kept_score else 0
    if not _is_subsequence("".join(rest.split()), text):
        return 0
    if replaced_score < kept_score or (ends_with_rest and replaced_score == kept_score):
        return len(rest_of_line)
    return 0


def drop_dangling_opener(text: str, language_id: str, next_indent: int | None) -> str:
    """Drop last lines of a multi-line suggestion that open a block they never fill.

    `return "YES"` followed by a bare `else:` would adopt the code after the cursor as its
    body: code that was not written for it. An opener stays when the code after the cursor
    (at `next_indent`) is indented deeper than it: that code is its body.
    """
    lines = text.split("\n")
    while len(lines) > 1 and ends_with_block_opener(lines[-1].rstrip(), language_id):
        if next_indent is not None and next_indent > indent_width(lines[-1]):
            break
        lines.pop()
    return "\n".join(lines)


def cut_at_existing_closer(text: str, rest_of_line: str) -> str:
    """Stop a one-line suggestion where it closes the bracket the document already closes.

    Applies where more than closers follows the cursor (closers alone are superseded).
    With `add(|)  # sum` right of the cursor, a suggestion `1, 2)  # add` is cut to `1, 2`:
    past the closing bracket the model only rewrites what is already there. A suggestion
    that reproduces the whole rest of the line is left alone (it supersedes it instead).
    """
    rest = rest_of_line.strip()
    if not rest or rest[0] not in _CLOSERS or is_closers_only(rest) or "\n" in text:
        return text
    depth = 0
    for index, char in enumerate(text):
        if char in OPEN_TO_CLOSE:
            depth += 1
        elif char in _CLOSERS:
            if depth == 0:
                if char != rest[0] or text[index:].strip() == rest:
                    return text
                return text[:index].rstrip()
            depth -= 1
    return text


_CLOSERS = frozenset(")]}")


def _is_subsequence(needle: str, haystack: str) -> bool:
    remaining = iter(haystack)
    return all(char in remaining for char in needle)


def _imbalance(line: str) -> int:
    """Unmatched brackets plus unpaired quotes: a rough measure of how broken a line is."""
    closers = set(OPEN_TO_CLOSE.values())
    stack: list[str] = []
    unmatched = 0
    for char in line:
        if char in OPEN_TO_CLOSE:
            stack.append(OPEN_TO_CLOSE[char])
        elif char in closers:
            if stack and stack[-1] == char:
                stack.pop()
            else:
                unmatched += 1
    odd_quotes = sum(line.count(quote) % 2 for quote in QUOTE_CHARS)
    return unmatched + len(stack) + odd_quotes
