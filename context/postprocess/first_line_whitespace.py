"""Filter: mend the whitespace where the suggestion meets the cursor (changes, never refuses).

On a blank cursor line models often indent the first line once more than the line
already is; the first line is trimmed back to the column the line wants. After a
space left of the cursor they often start with another space; it is dropped (in
comments and strings, SHORT mode, only one).
"""

from __future__ import annotations

from dataclasses import replace

from context.completion_plan import CompletionMode
from context.indentation import indent_width, leading_whitespace, trim_whitespace_to_width
from context.postprocess.suggestion import Suggestion, Surroundings


def mend_first_line(suggestion: Suggestion, site: Surroundings) -> Suggestion:
    """The suggestion with its first line's leading whitespace fitted to the cursor."""
    plan = site.plan
    keep_spaces = plan.mode is CompletionMode.SHORT
    text = fix_first_line(suggestion.text, plan.line_prefix, site.expected_indent, keep_spaces)
    return replace(suggestion, text=text)


def fix_first_line(text: str, line_prefix: str, expected: int | None, keep_spaces: bool) -> str:
    """Correct the whitespace where the suggestion meets the text left of the cursor."""
    first, newline, rest = text.partition("\n")
    if not line_prefix.strip():
        first = fit_first_line(first, line_prefix, expected)
    elif line_prefix[-1] in " \t" and first[:1] in (" ", "\t"):
        first = first[1:] if keep_spaces else first.lstrip(" \t")
    return first + newline + rest


def fit_first_line(line: str, line_prefix: str, expected: int | None) -> str:
    """Trim the generated indentation of the first line so the whole line is not over-indented."""
    if expected is None:
        return line
    generated = leading_whitespace(line)
    target = expected - indent_width(line_prefix)
    if indent_width(line_prefix) + indent_width(generated) <= expected:
        return line
    return trim_whitespace_to_width(generated, target) + line[len(generated) :]
