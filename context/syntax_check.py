"""Rejecting suggestions that would break the document's syntax.

A suggestion that leaves a cleanly parsing file with parse errors is almost
always truncated or wrong. Rather than drop it outright, the longest leading
run of its lines that keeps the document parsing (or, in a file that already
has errors, does not add any) is kept.
"""

from __future__ import annotations

from context.syntax_tree import parse_document


def longest_parsing_prefix(
    document: str, offset: int, text: str, replace_chars: int, language_id: str
) -> str | None:
    """The suggestion, or its longest whole-line prefix that parses; None if none does."""
    original = parse_document(document, language_id)
    if original is None:
        return text
    baseline = original.error_count() if original.has_error else 0
    lines = text.split("\n")
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
