"""Carries a model load's steps from the inference thread to the editor's `$/progress`.

The engine is loaded on the inference worker's thread, while `$/progress` notifications
must be sent from the event loop's. The relay hands each step over to the loop, to whoever
shows the load now (the server, while it has a progress token open); steps of a load nobody
shows, or that arrive after its progress ended, are dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engines.load_progress import LoadStep

ShowStep = Callable[[LoadStep], None]


class LoadStepRelay:
    """A LoadProgress for the worker thread that forwards to the event loop."""

    def __init__(self) -> None:
        self._target: tuple[asyncio.AbstractEventLoop, ShowStep] | None = None

    def attach(self, show: ShowStep) -> None:
        """Show the steps of the load from now on with `show` (called on this loop)."""
        self._target = (asyncio.get_running_loop(), show)

    def detach(self) -> None:
        self._target = None

    def __call__(self, step: LoadStep) -> None:
        target = self._target
        if target is not None:
            loop, show = target
            loop.call_soon_threadsafe(self._deliver, show, step)

    def _deliver(self, show: ShowStep, step: LoadStep) -> None:
        target = self._target
        if target is not None and target[1] is show:  # still the load being shown
            show(step)
