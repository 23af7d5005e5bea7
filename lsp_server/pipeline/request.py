"""The one value a completion request is: built once per editor request, passed down whole.

Everything the pipeline needs to answer (the document's text and version, the cursor, the
language, whether the user is typing or asked, the settings in force, the code chosen from
other files) travels in a `CompletionRequest`, so no layer re-derives the cursor or grows a
long argument list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from context.cross_file_context import CrossFileSnippets
from context.cursor import Cursor
from engines.completion_engine import ContextSnippet
from lsp_server.settings import Settings


@dataclass(frozen=True)
class CompletionRequest:
    document: str  # the document's URI (or a path for the command line): its KV sequence
    text: str
    cursor: Cursor
    language_id: str
    settings: Settings
    typing: bool = False  # an automatic request while the user types (not invoked)
    version: int | None = None
    cross_file: CrossFileSnippets = field(default_factory=CrossFileSnippets)
    # A second KV sequence of the document ("": its own), e.g. a quick start's, so that the
    # document's own sequence keeps growing toward the full prompt.
    lane: str = ""

    @staticmethod
    def at(text: str, offset: int, language_id: str, settings: Settings) -> CompletionRequest:
        """A request outside any editor (the command line, tests, benchmarks)."""
        return CompletionRequest("", text, Cursor.at(text, offset), language_id, settings)

    @property
    def offset(self) -> int:
        return self.cursor.offset

    @property
    def snippets(self) -> tuple[ContextSnippet, ...]:
        """The code from other files, as the engine lays it out."""
        return tuple(ContextSnippet(item.path, item.text) for item in self.cross_file.snippets)

    def moved_to(self, text: str, offset: int) -> CompletionRequest:
        """The request the same document will send at `offset` of `text` while typing,
        worked out ahead in the document's own KV sequence: the real request there then
        finds its prompt evaluated, and a keystroke elsewhere shifts the suffix back."""
        cursor = Cursor.at(text, offset)
        return dataclasses.replace(self, text=text, cursor=cursor, typing=True, version=None)

    def with_cross_file(self, cross_file: CrossFileSnippets) -> CompletionRequest:
        return dataclasses.replace(self, cross_file=cross_file)
