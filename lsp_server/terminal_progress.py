"""The steps of a model load, drawn on the terminal of `fimble doctor` and `fimble complete`.

On a terminal each step is a bar that redraws its line; a step that follows starts a new
line, and the last one (loading into llama.cpp, which has no measure) is cleared when the
load is done. Where stderr is a file or a pipe, each step is one plain line, so that logs
and scripts read what happened without control characters.
"""

from __future__ import annotations

from typing import TextIO

from engines.load_progress import LoadStep

BAR_WIDTH = 30


def step_line(step: LoadStep) -> str:
    """`fimble: TITLE [#####-----]  42% 206/491 MB`, or `fimble: TITLE ...` without a total."""
    percent = step.percentage
    if percent is None or step.total is None:
        return f"fimble: {step.title} ..."
    filled = BAR_WIDTH * percent // 100
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    size = f"{step.done / 1e6:,.0f}/{step.total / 1e6:,.0f} MB"
    return f"fimble: {step.title} [{bar}] {percent:3d}% {size}"


class TerminalProgress:
    """A LoadProgress for a person at a terminal (or a plain log where there is none)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._redraws = stream.isatty()
        self._title: str | None = None
        self._line_open = False

    def __call__(self, step: LoadStep) -> None:
        new_step = step.title != self._title
        self._title = step.title
        if not self._redraws:
            if new_step:
                self._stream.write(f"fimble: {step.title}\n")
                self._stream.flush()
            return
        if new_step and self._line_open:
            self._stream.write("\n")
        self._stream.write("\r\x1b[K" + step_line(step))
        self._stream.flush()
        self._line_open = True

    def finish(self) -> None:
        """Clear the last step's line where it was redrawn (the load is over)."""
        if self._line_open:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._line_open = False
