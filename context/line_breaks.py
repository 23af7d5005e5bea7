"""Line breaks as every part of fimble splits lines: LF alone.

LSP counts CRLF, CR and LF each as one line break, and editors send documents with any of
them; the planner, the prompt windows, the outlines and the finisher split at LF. Text is made
LF-only once, where it enters (a request's document, a file read as context), so a CR-only
file is not one long line and a CRLF file's snippets carry no stray CR. Line numbers and
the columns within a line are the same before and after. Lines are never split with
str.splitlines (see `lsp_lines`).
"""

from __future__ import annotations

import re

# A line with its break, as LSP counts lines. Python's str.splitlines also breaks at form
# feed, vertical tab, \x1c-\x1e, NEL, U+2028 and U+2029: inside an LSP line, those would
# shift every line number below them.
_LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


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


def lsp_lines(text: str) -> list[str]:
    """The lines of `text` as LSP numbers them, each with its line break (CRLF, CR or LF)."""
    return _LSP_LINE.findall(text)


def lf_lines(text: str) -> list[str]:
    """The lines of LF-only `text`, without their breaks (str.splitlines, LF alone a break)."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines
