"""The finishing filters, in the order they run, and the loop that runs them.

Once the stream has ended (completion_finisher.py), the text goes through each
filter of FINISHING_FILTERS in turn. A filter returns the suggestion changed or
unchanged, or None to refuse it; a suggestion a filter leaves blank is refused too,
and nothing after a refusal runs. The package docstring says why each step sits
where it does.
"""

from __future__ import annotations

from context.postprocess.dangling_opener import trim_dangling_opener
from context.postprocess.existing_closer import stop_at_existing_closer
from context.postprocess.first_line_whitespace import mend_first_line
from context.postprocess.suffix_echo import refuse_suffix_repeat
from context.postprocess.suggestion import Filter, Suggestion, Surroundings
from context.postprocess.superseded_text import supersede_rest_of_line
from context.postprocess.syntax_check import keep_parsing_lines
from context.postprocess.tidy_whitespace import tidy_whitespace
from context.postprocess.unknown_member import refuse_unknown_member

FINISHING_FILTERS: tuple[Filter, ...] = (
    refuse_unknown_member,
    tidy_whitespace,
    refuse_suffix_repeat,
    trim_dangling_opener,
    mend_first_line,
    stop_at_existing_closer,
    supersede_rest_of_line,
    keep_parsing_lines,
)


def finish_suggestion(text: str, site: Surroundings) -> Suggestion | None:
    """The streamed `text` after every finishing filter, or None if one refused it."""
    suggestion = Suggestion(text, 0)
    for step in FINISHING_FILTERS:
        result = step(suggestion, site)
        if result is None or not result.text.strip():
            return None
        suggestion = result
    return suggestion
