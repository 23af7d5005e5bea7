"""The small contract every completion engine meets.

The language server and the command line only ever talk to an engine through this
`Protocol`: a fill-in-the-middle request goes in, text comes out piece by piece as it is
generated. Whoever consumes the stream stops generation by no longer iterating (closing the
generator), so an engine never produces tokens nobody will use.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class ContextSnippet:
    """Code from another file shown to the model ahead of the current file."""

    path: str  # relative to the workspace folder, "/"-separated
    text: str


@dataclass(frozen=True)
class FimRequest:
    """Text before and after the hole, and how much may be generated."""

    prefix: str
    suffix: str
    max_tokens: int = 128
    heal_last_token: bool = True
    # Stop at a line break once the model gives ending the middle there at least this
    # probability (0 disables): small models rarely make the end token their top choice.
    end_probability_at_line_break: float = 0.0
    # Where the hole is (relative path) and code from other files, most stable first: the
    # prompt lays these out ahead of the prefix so its start survives keystrokes.
    file_path: str = ""
    snippets: tuple[ContextSnippet, ...] = ()
    # Which document the prompt belongs to: each keeps its own sequence in the KV cache.
    document: str = ""
    repo_name: str = ""  # the workspace folder's name, for repository-level prompts
    # The middle must not begin with this text (leading whitespace aside): where its first
    # visible characters are chosen, candidates that would spell it are passed over.
    avoid_start: str = ""
    # The document line the prefix starts at when it is a document-anchored prefix (None: a
    # plain window). `prefill_run` keeps one run per (document, anchor); any request then
    # borrows the evaluated tokens of the document's run that shares the most with its prompt.
    anchor: int | None = None
    # A second working sequence of the same document (a quick start's): it borrows the
    # document's runs but leaves the document's own sequence as the user's requests left it.
    lane: str = ""
    # Where the cursor writes a member of something whose members are all known: the member
    # (`member_typed`, already in the prefix, then what is generated) must become one of these
    # (empty: no constraint). See `engines.member_guide`.
    member_names: frozenset[str] = frozenset()
    member_typed: str = ""


@dataclass
class GenerationStats:
    """What one request cost, for logs, benchmarks and tests."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    moved_tokens: int = 0  # of the reused ones, those shifted to new positions
    run_tokens: int = 0  # of the reused ones, those borrowed from a document run
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    stop_reason: str = ""
    healed: bool = False
    passes: int = 1  # model passes: a second opinion (refused first answer) is another

    def then(self, later: GenerationStats) -> GenerationStats:
        """One request's figures over two passes: the work adds up, the first pass says
        what the cache gave, the last one how it ended."""
        return GenerationStats(
            prompt_tokens=later.prompt_tokens,
            reused_tokens=self.reused_tokens,
            moved_tokens=self.moved_tokens,
            run_tokens=self.run_tokens,
            evaluated_tokens=self.evaluated_tokens + later.evaluated_tokens,
            generated_tokens=self.generated_tokens + later.generated_tokens,
            prefill_seconds=self.prefill_seconds + later.prefill_seconds,
            decode_seconds=self.decode_seconds + later.decode_seconds,
            stop_reason=later.stop_reason,
            healed=self.healed,
            passes=self.passes + later.passes,
        )


@dataclass(frozen=True)
class EngineDescription:
    """What `fimble doctor` and the server's logs say about a loaded engine."""

    model_path: str
    fim_template: str
    details: dict[str, str] = field(default_factory=dict)


class CompletionCancelled(Exception):
    """Generation was stopped because the request was cancelled."""


class EngineUnavailable(Exception):
    """The engine cannot answer now (e.g. its server is unreachable); the message says why."""


class CompletionEngine(Protocol):
    """Streams the middle of a fill-in-the-middle request."""

    @property
    def description(self) -> EngineDescription: ...

    @property
    def last_stats(self) -> GenerationStats: ...

    @property
    def model_file(self) -> Path | None:
        """The local model file the engine reads (llama.cpp maps it), None for remote engines."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def stream(self, request: FimRequest, cancel: threading.Event) -> Generator[str, None, None]:
        """Yield generated text; raise CompletionCancelled once `cancel` is set."""
        ...

    def prefill(self, request: FimRequest, cancel: threading.Event) -> None:
        """Prepare for `request` while the editor is idle (engines without a cache: no-op)."""
        ...

    def pending_tokens(self, request: FimRequest) -> int:
        """Prompt tokens `request` would evaluate before its first token (0: cannot tell)."""
        ...

    def prefill_run(
        self, request: FimRequest, cancel: threading.Event, limit_tokens: int | None = None
    ) -> int:
        """Evaluate the document run `request` names, in the background.

        `request.prefix` is the document from the line `request.anchor` (required) down to
        the end of the stretch the run should hold. At most `limit_tokens` tokens are
        evaluated; a set `cancel` stops it at once, keeping what was done. Returns the
        tokens still missing (0: ready, or an engine without runs).
        """
        ...

    def run_pending(self, request: FimRequest) -> int:
        """Tokens `prefill_run(request, ...)` would still evaluate (0: ready or no runs)."""
        ...

    def close(self) -> None: ...
