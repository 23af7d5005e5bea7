"""Line breaks as every part of fimble splits lines: LF alone.

LSP counts CRLF, CR and LF each as one line break, and editors send documents with any of
them; the planner, the prompt windows, the outlines and the finisher split at LF. Text is made
LF-only once, where it enters (a request's document, a file read as context), so a CR-only
file is not one long line and a CRLF file's snippets carry no stray CR. Line numbers and
the columns within a line are the same before and after.
"""

from __future__ import annotations


def as_lf(text: str) -> str:
    """`text` with its CRLF and CR line breaks as LF."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def as_lf_at(text: str, offset: int) -> tuple[str, int]:
    """`as_lf(text)` and where code-point `offset` of `text` lands in it (one between the CR
    and the LF of a CRLF: at the end of its line)."""
    if "\r" not in text:
        return text, offset
    before, after = as_lf(text[:offset]), as_lf(text[offset:])
    if text[offset - 1 : offset + 1] == "\r\n":  # the CRLF became one LF, before the cursor
        return before + after[1:], len(before) - 1
    return before + after, len(before)
