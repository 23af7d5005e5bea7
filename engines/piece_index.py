"""Token ids by the bytes they start with.

Token healing backs off the prompt's last token and lets the model choose any token that
starts with its bytes. That set changes with nearly every keystroke; scanning the whole
vocabulary for it cost about 50 ms per request with a 151k-token vocabulary. Sorted once, the
tokens starting with given bytes are one contiguous run found by two binary searches.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def _after_all_starting_with(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with `prefix`
    (None: no such string, the prefix is all 0xff bytes)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


class PieceIndex:
    def __init__(self, pieces: Sequence[bytes]) -> None:
        self._pieces = pieces
        order = sorted(range(len(pieces)), key=pieces.__getitem__)
        self._order = np.array(order, dtype=np.int64)
        self._sorted = [pieces[token] for token in order]

    def starting_with(self, prefix: bytes) -> npt.NDArray[np.int64]:
        """The ids of the tokens whose bytes start with `prefix`, in byte order."""
        low = bisect_left(self._sorted, prefix)
        bound = _after_all_starting_with(prefix)
        high = len(self._sorted) if bound is None else bisect_left(self._sorted, bound)
        return self._order[low:high]

    def equal_to(self, piece: bytes) -> list[int]:
        """The ids of the tokens whose bytes are exactly `piece`."""
        found = []
        index = bisect_left(self._sorted, piece)
        while index < len(self._sorted) and self._sorted[index] == piece:
            found.append(int(self._order[index]))
            index += 1
        return found

    def healing_mask(self, required: bytes) -> npt.NDArray[np.bool_]:
        """Tokens that give back `required` and put no line break after it (which would only
        leave trailing whitespace behind)."""
        mask = np.zeros(len(self._pieces), dtype=np.bool_)
        candidates = [
            int(token)
            for token in self.starting_with(required)
            if b"\n" not in self._pieces[token][len(required) :]
        ]
        mask[candidates] = True
        return mask
