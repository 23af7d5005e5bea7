"""Tokenizing a document a line at a time, remembering the lines that did not change.

A keystroke changes one line; the prompt around it is thousands of characters that were
tokenized a moment ago. Byte-level BPE vocabularies (Qwen's, GPT-style) split text into
pieces with a pattern that never joins a line break to a following line that has visible
characters, and merges never cross those pieces, so such text can be tokenized line by
line and joined: the result is exactly the whole-text tokenization. Whether a vocabulary
behaves so is checked on a sample when it is loaded; where it does not (SentencePiece
vocabularies add a leading space per call, for one), whole texts are tokenized instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from cachetools import LRUCache

# A line break is a safe place to cut when the next line has something other than spaces.
_SAFE_CUT = re.compile(r"(?<=\n)(?=[^\S\r\n]*[^\s])")

# Every kind of line end, then line breaks, then every kind of line start.
_SAMPLE = "".join(
    f"{end}{breaks}{start}value"
    for end in ("x", "x.", "x  ", "x:", "x)", "'''", "ü€😀", "  \n", ".\n\n", "\r")
    for breaks in ("\n", "\n\n", "\n\n\n", "\r\n", "\n  \n")
    for start in ("", " ", "    ", "\t", ":", "(", "#", "}", "'", "1", "ü")
)


def lines_of(text: str) -> Iterator[str]:
    """`text` cut after each line break that is followed by a line with content."""
    start = 0
    for match in _SAFE_CUT.finditer(text):
        yield text[start : match.start()]
        start = match.start()
    yield text[start:]


class LineTokenizer:
    """`tokenize`, with the token ids of recently seen lines remembered."""

    def __init__(self, tokenize: Callable[[str], list[int]], lines: int = 16384) -> None:
        self._tokenize = tokenize
        self._lines: LRUCache[str, tuple[int, ...]] = LRUCache(maxsize=lines)
        self.line_by_line = self._agrees_on(_SAMPLE)

    def _agrees_on(self, sample: str) -> bool:
        joined = [token for line in lines_of(sample) for token in self._tokenize(line)]
        return joined == self._tokenize(sample)

    def __call__(self, text: str) -> list[int]:
        if not self.line_by_line:
            return self._tokenize(text)
        tokens: list[int] = []
        for line in lines_of(text):
            known = self._lines.get(line)
            if known is None:
                known = tuple(self._tokenize(line))
                self._lines[line] = known
            tokens.extend(known)
        return tokens
