"""Filter: keep only what leaves the document parsing (shortens, or refuses).

A suggestion that leaves a cleanly parsing file with parse errors is almost
always truncated or wrong. Rather than drop it outright, the longest leading
run of its lines that keeps the document parsing (or, in a file that already
has errors, does not add any) is kept.

tree-sitter's Python grammar recovers from a dedent to a column no open block
starts at, which Python itself refuses (IndentationError); Python's own
tokenizer checks that part.
"""

from __future__ import annotations

import io
import tokenize

from context.postprocess.suggestion import Suggestion, Surroundings
from context.syntax_tree import parse_document

# Lines above the cursor searched for the top-level statement the check starts from.
MAX_SCANNED_LINES = 400


def keep_parsing_lines(suggestion: Suggestion, site: Surroundings) -> Suggestion | None:
    """The suggestion's longest leading lines that parse in place, or None if none do.

    The replaced range holds only for the whole text: a shortened suggestion no longer
    ends with what it replaced.
    """
    text, replace_chars = suggestion.text, suggestion.replace_chars
    language_id = site.plan.language_id
    checked = longest_parsing_prefix(site.document, site.offset, text, replace_chars, language_id)
    if checked is None:
        return None
    return Suggestion(checked, replace_chars if checked == text else 0)


def longest_parsing_prefix(
    document: str, offset: int, text: str, replace_chars: int, language_id: str
) -> str | None:
    """The suggestion, or its longest whole-line prefix that parses; None if none does."""
    original = parse_document(document, language_id)
    if original is None:
        return text
    baseline = original.error_count() if original.has_error else 0
    lines = text.split("\n")
    if language_id == "python" and len(lines) > 1:
        misaligned = first_misaligned_line(document, offset, text)
        lines = lines if misaligned is None else lines[:misaligned]
    for count in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:count]).rstrip()
        if not candidate.strip():
            continue
        tree = original.replaced(offset, replace_chars, candidate)
        if not tree.has_error:
            return candidate
        if baseline and tree.error_count() <= baseline:
            return candidate
    return None


def first_misaligned_line(document: str, offset: int, text: str) -> int | None:
    """The index of the first line of `text` (inserted at `offset` of a Python document)
    that dedents to a column where no enclosing block starts, or None."""
    start = _statement_start(document, offset)
    if start is None:
        return None  # deep in a long block: not worth tokenizing it on every suggestion
    first_line = document.count("\n", start, offset) + 1
    region = io.StringIO(document[start:offset] + text + "\n")
    try:
        for _ in tokenize.generate_tokens(region.readline):
            pass
    except IndentationError as error:
        if error.lineno is not None and error.lineno >= first_line:
            return error.lineno - first_line
    except (SyntaxError, tokenize.TokenError):
        pass  # unclosed brackets or strings at the end of the region: not an indentation error
    return None


def _statement_start(document: str, offset: int) -> int | None:
    """The start of the nearest line at or above the cursor's whose code starts at column 0,
    if one is within MAX_SCANNED_LINES."""
    line_start = document.rfind("\n", 0, offset) + 1
    for _ in range(MAX_SCANNED_LINES):
        first = document[line_start : line_start + 1]
        if line_start == 0 or (first and not first.isspace() and first != "#"):
            return line_start
        line_start = document.rfind("\n", 0, line_start - 1) + 1
    return None
