"""Line breaks as every part of fimble splits lines: LF alone.

LSP counts CRLF, CR and LF each as one line break, and editors send documents with any of
them; the planner, the prompt windows, the outlines and the finisher split at LF. Text is made
LF-only once, where it enters (a request's document, a file read as context), so a CR-only
file is not one long line and a CRLF file's snippets carry no stray CR. Line numbers and
the columns within a line are the same before and after. Lines are never split with
str.splitlines (see `LspLines`).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator, Sequence
from typing import overload


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


class LspLines(Sequence[str]):
    """The lines of a text as LSP numbers them, each with its line break (CRLF, CR or LF),
    cut from the text when asked. Python's str.splitlines also breaks at form feed, vertical
    tab, \\x1c-\\x1e, NEL, U+2028 and U+2029: inside an LSP line, those would shift every line
    number below them. Only where the lines end is kept (8 bytes a line): a tuple of the lines
    keeps a string each (about 60 bytes a line; 18 MB for a 300,000-line document)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._ends = _line_ends(text)

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._line(number) for number in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("line number out of range")
        return self._line(index)

    def __iter__(self) -> Iterator[str]:
        return (self._line(number) for number in range(len(self)))

    def start_of(self, number: int) -> int:
        """Where line `number` starts in the text (its length for the line after the last)."""
        return self._ends[number - 1] if number else 0

    def _line(self, number: int) -> str:
        return self._text[self.start_of(number) : self._ends[number]]


_BREAK = re.compile(r"\r\n|\r|\n")  # LSP's line breaks, and no others


def _line_ends(text: str) -> array[int]:
    """Where each LSP line of `text` ends, its break included. LF-only text (the usual case)
    is scanned with str.find, many times faster than a regular expression on long lines."""
    ends = array("q")
    if "\r" in text:
        ends.extend(found.end() for found in _BREAK.finditer(text))
    else:
        at = text.find("\n")
        while at != -1:
            ends.append(at + 1)
            at = text.find("\n", at + 1)
    if len(text) > (ends[-1] if ends else 0):
        ends.append(len(text))  # a last line without a break
    return ends


def lf_lines(text: str) -> list[str]:
    """The lines of LF-only `text`, without their breaks (str.splitlines, LF alone a break)."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines
