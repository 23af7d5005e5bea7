"""What a model load is doing, for whoever shows it (a terminal bar, an editor's `$/progress`).

The first load joins hundreds of MB of model slices and checks their sha256, which takes
seconds to minutes; a user looking at a silent editor or terminal cannot tell that from a
hang. The engines report steps through a plain callable, so that they stay free of any
display or protocol: the CLI draws a bar, the language server sends `$/progress`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadStep:
    """One step of a load: its name and, for steps that read bytes, how far it is."""

    title: str
    done: int = 0
    total: int | None = None  # None: no measure of progress (e.g. llama.cpp mapping the file)

    @property
    def percentage(self) -> int | None:
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)


LoadProgress = Callable[[LoadStep], None]


def no_progress(step: LoadStep) -> None:
    """The callback of callers that show nothing."""


class ByteSteps:
    """Reports a step that reads `total` bytes: its start, each whole percent, its end."""

    def __init__(self, progress: LoadProgress, title: str, total: int) -> None:
        self._progress = progress
        self._title = title
        self._total = total
        self._done = 0
        self._shown = -1
        self._show()

    def advance(self, count: int) -> None:
        self._done += count
        self._show()

    def _show(self) -> None:
        percent = self._done * 100 // self._total if self._total else 100
        if percent != self._shown:
            self._shown = percent
            self._progress(LoadStep(self._title, self._done, self._total))
