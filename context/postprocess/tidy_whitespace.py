"""Filter: tidy the whitespace around the suggestion's lines (changes, never refuses).

Models end lines with spaces and answers with blank lines, and often begin with a
line break. Trailing whitespace and trailing blank lines go. Leading blank lines go
on a blank cursor line (the first real line belongs at the cursor) and shrink to
one after text left of the cursor (an opener's body starts on the next line).
"""

from __future__ import annotations

from dataclasses import replace

from context.postprocess.suggestion import Suggestion, Surroundings


def tidy_whitespace(suggestion: Suggestion, site: Surroundings) -> Suggestion:
    """The suggestion with its surplus whitespace removed."""
    prefix_is_blank = not site.plan.line_prefix.strip()
    return replace(suggestion, text=tidy_lines(suggestion.text, prefix_is_blank))


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
