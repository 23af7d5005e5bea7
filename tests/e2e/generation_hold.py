"""Hold the model mid-generation, so that a test acts while a request is surely in flight.

Run as a module, this is `fimble serve` with one addition: when the test has armed the hold
for a document, that document's next generation stops after its first piece of text and
waits, the worker thread with it, until the test releases it. What a test does meanwhile (a
cancel, a keystroke) happens while the request is generating, on any machine, however fast,
with no sleep to guess how long generation takes. The test and the server meet in a folder
(FIMBLE_GENERATION_HOLD): `armed` names the document, `held` says the generation is waiting,
`release` lets it go on. The same goes for a request's context gathering (before any model
work), with `gathering-armed`, `gathering-held` and `gathering-release`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FOLDER_VARIABLE = "FIMBLE_GENERATION_HOLD"
SERVER_COMMAND = [sys.executable, "-m", "tests.e2e.generation_hold", "serve"]
# Guards against waiting forever, not speed requirements.
GUARD_SECONDS = 600
POLL_SECONDS = 0.01
GATHERING = "gathering-"


class GenerationHold:
    """The test's side of the hold."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def env(self) -> dict[str, str]:
        return {**os.environ, FOLDER_VARIABLE: str(self.folder)}

    def arm(self, uri: str) -> None:
        """Hold the next generation for `uri` once its first piece of text is out."""
        (self.folder / "armed").write_text(uri, encoding="utf-8")

    async def held(self, stage: str = "") -> None:
        """Return once the armed generation is waiting (the worker is busy with it)."""
        for _ in range(int(GUARD_SECONDS / POLL_SECONDS)):
            if (self.folder / f"{stage}held").exists():
                return
            await asyncio.sleep(POLL_SECONDS)
        raise AssertionError(f"the armed {stage or 'generation'} never started")

    def release(self, stage: str = "") -> None:
        (self.folder / f"{stage}release").touch()

    def arm_gathering(self, uri: str) -> None:
        """Hold the next context gathering for `uri` (a request's, before any model work)."""
        (self.folder / f"{GATHERING}armed").write_text(uri, encoding="utf-8")

    async def gathering_held(self) -> None:
        await self.held(GATHERING)

    def release_gathering(self) -> None:
        self.release(GATHERING)


def _hold_generations(folder: Path) -> None:
    from engines.llama_engine import LlamaEngine

    stream = LlamaEngine.stream

    def held_stream(self: LlamaEngine, request: Any, cancel: Any) -> Iterator[str]:
        armed = folder / "armed"
        if not armed.exists() or armed.read_text(encoding="utf-8") != request.document:
            yield from stream(self, request, cancel)
            return
        armed.unlink()
        for count, piece in enumerate(stream(self, request, cancel)):
            yield piece
            if count == 0:
                (folder / "held").touch()
                for _ in range(int(GUARD_SECONDS / POLL_SECONDS)):
                    if (folder / "release").exists():
                        break
                    time.sleep(POLL_SECONDS)

    LlamaEngine.stream = held_stream  # type: ignore[method-assign]


def _hold_gatherings(folder: Path) -> None:
    from lsp_server.workspace_context import WorkspaceContext

    gather = WorkspaceContext.request

    async def held_gather(self: WorkspaceContext, request: Any, engine: Any) -> Any:
        armed = folder / f"{GATHERING}armed"
        if armed.exists() and armed.read_text(encoding="utf-8") == request.document:
            armed.unlink()
            (folder / f"{GATHERING}held").touch()
            for _ in range(int(GUARD_SECONDS / POLL_SECONDS)):
                if (folder / f"{GATHERING}release").exists():
                    break
                await asyncio.sleep(POLL_SECONDS)  # the server goes on reading messages
        return await gather(self, request, engine)

    WorkspaceContext.request = held_gather  # type: ignore[method-assign]


if __name__ == "__main__":
    from lsp_server.cli import main

    _hold_generations(Path(os.environ[FOLDER_VARIABLE]))
    _hold_gatherings(Path(os.environ[FOLDER_VARIABLE]))
    sys.exit(main())
