"""The server's cross-file context: one thread that indexes the workspace and picks snippets.

Gathering context (reading files, parsing imports, scoring similar windows, counting tokens)
runs on its own single thread, never on the asyncio loop and never on the inference thread,
so it neither stalls the editor nor delays the model. Workspace indexing advances in small
chunks queued on that thread, so a request waits for at most one chunk before its own
gathering; tokens are counted with a tiktoken encoding built from the model's own GGUF
vocabulary (exactly llama.cpp's counts), falling back to the engine's tokenizer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlparse

from context.cross_file_context import ContextOptions, CrossFileContext, CrossFileSnippets
from context.line_breaks import lf_lines
from context.workspace_files import ScopeLimits, WorkspaceScope, real_path
from engines.completion_engine import CompletionEngine
from engines.model_catalog import measured_context_tokens, model_file_for
from engines.token_counter import TokenCounter, VocabularyNotConvertible, gguf_token_counter
from lsp_server.pipeline.request import CompletionRequest
from lsp_server.settings import Settings

logger = logging.getLogger(__name__)
INDEX_CHUNK_FILES = 20


def path_of_uri(uri: str) -> Path | None:
    """The file at `uri`, its links resolved (where they loop: as named; no context is
    read through it then)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = Path(unquote(parsed.path))
    return real_path(path) or path.absolute()


def context_budget(settings: Settings) -> int:
    """contextTokens as it applies: the setting, or (-1) the budget measured for the model
    the settings load (on the context thread: naming the default model asks llama.cpp
    whether it has a GPU)."""
    if settings.context_tokens >= 0:
        return settings.context_tokens
    return _measured_budget(settings.engine, settings.model_path)


@functools.lru_cache(maxsize=8)
def _measured_budget(engine: str, model_path: str) -> int:
    return measured_context_tokens(model_file_for(model_path) if engine == "local" else None)


def context_options(settings: Settings) -> ContextOptions:
    return ContextOptions(
        budget_tokens=context_budget(settings),
        shares={
            "definitions": settings.context_definitions,
            "recent": settings.context_recent,
            "similar": settings.context_similar,
        },
    )


class WorkspaceContext:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fimble-context")
        self._context: CrossFileContext | None = None
        self._folders: tuple[Path, ...] = ()
        self._scope_key: tuple[object, ...] | None = None
        self._counters: dict[str, TokenCounter] = {}
        self._indexing: asyncio.Task[None] | None = None
        self._index_settings = Settings()
        # Per open document: the snippets chosen for it, kept while its imports and the
        # context settings stay as they were (a stable prompt head: see `_gather`).
        self._heads: dict[str, tuple[tuple[object, ...], CrossFileSnippets]] = {}
        # Per open document: its text as last seen and its import lines (read once per
        # version, not on every request: a long file has hundreds of thousands of lines).
        self._imports: dict[str, tuple[str, tuple[str, ...]]] = {}
        # The deny list and .gitignore as the event loop asks them (the scope above belongs
        # to the context thread).
        self._guard: tuple[tuple[object, ...], WorkspaceScope] | None = None

    def set_folders(self, uris: list[str]) -> None:
        self._folders = tuple(path for uri in uris if (path := path_of_uri(uri)) is not None)

    def change_folders(self, added: list[str], removed: list[str], settings: Settings) -> None:
        """Folders added to the workspace or removed from it: from now on context comes from
        the folders open now only (the context and the snippets kept for each document are
        rebuilt for them), and the new set is indexed."""
        gone = {path_of_uri(uri) for uri in removed}
        kept = [folder for folder in self._folders if folder not in gone]
        new = [path for uri in added if (path := path_of_uri(uri)) is not None]
        self._folders = tuple(dict.fromkeys(kept + new))
        self.start_indexing(settings)

    def _ensure(self, settings: Settings) -> CrossFileContext:
        key = (
            self._folders,
            settings.context_exclude,
            settings.context_max_files,
            settings.context_max_file_bytes,
        )
        if self._context is None or key != self._scope_key:
            scope = WorkspaceScope(
                self._folders,
                settings.context_exclude,
                ScopeLimits(settings.context_max_file_bytes, settings.context_max_files),
            )
            previous = self._context
            self._context = CrossFileContext(scope)
            if previous is not None:
                for path, text in previous.open_documents().items():
                    self._context.open_document(path, text)
            self._scope_key = key
        return self._context

    def withholds(self, uri: str, settings: Settings) -> bool:
        """Whether the document at `uri` gets no suggestion: the deny list covers it, or a
        remote engine would send its text and `.gitignore` covers it."""
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            return False
        key = (self._folders, settings.context_exclude)
        if self._guard is None or self._guard[0] != key:
            self._guard = (key, WorkspaceScope(self._folders, settings.context_exclude))
        return self._guard[1].withholds(Path(unquote(parsed.path)), settings.is_remote())

    async def _on_thread(self, job: object, *args: object) -> object:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, job, *args)  # type: ignore[arg-type]

    def start_indexing(self, settings: Settings) -> None:
        """Index the workspace in the background, a chunk at a time on the context thread,
        for `settings` (indexing under way goes on with them: a change of the context
        settings that rebuilds the context starts its index afresh)."""
        self._index_settings = settings
        if self._indexing is not None and not self._indexing.done():
            return
        if settings.context_tokens == 0 or settings.context_similar <= 0 or not self._folders:
            return
        self._indexing = asyncio.ensure_future(self._index())

    def indexed(self) -> bool:
        """Whether no workspace indexing is under way (done, or nothing to index)."""
        return self._indexing is None or self._indexing.done()

    async def _index(self) -> None:
        def step() -> tuple[bool, object]:
            in_force = (self._index_settings, self._folders)
            if context_budget(in_force[0]) <= 0:  # the model's measured budget is none
                return False, in_force
            return self._ensure(in_force[0]).index_step(INDEX_CHUNK_FILES), in_force

        try:
            while True:
                more, used = cast(tuple[bool, object], await self._on_thread(step))
                if not more and used == (self._index_settings, self._folders):
                    return  # else: the settings or the folders changed meanwhile
                await asyncio.sleep(0)
        except Exception:
            logger.warning("workspace indexing stopped", exc_info=True)

    def opened(self, uri: str, text: str, settings: Settings) -> None:
        path = path_of_uri(uri)
        if path is not None:
            self._executor.submit(lambda: self._ensure(settings).open_document(path, text))

    def changed(self, uri: str, text: str, line: int | None, settings: Settings) -> None:
        path = path_of_uri(uri)
        if path is not None:
            self._executor.submit(lambda: self._ensure(settings).change_document(path, text, line))

    def closed(self, uri: str, settings: Settings) -> None:
        self._executor.submit(lambda: (self._heads.pop(uri, None), self._imports.pop(uri, None)))
        path = path_of_uri(uri)
        if path is not None:
            self._executor.submit(lambda: self._ensure(settings).close_document(path))

    def files_changed(self, uris: list[str], settings: Settings) -> None:
        """Workspace files created, changed or deleted on disk (the editor's file watcher):
        the index follows, and a document's kept snippets from one of them are chosen anew."""
        paths = [path for uri in uris if (path := path_of_uri(uri)) is not None]

        def follow() -> None:
            context = self._ensure(settings)
            for path in paths:
                context.file_changed(path)
            changed = {context.scope.relative(path) for path in paths} - {None}
            for uri, (_, kept) in list(self._heads.items()):
                if any(snippet.path in changed for snippet in kept.snippets):
                    del self._heads[uri]

        self._executor.submit(follow)

    def _counter(self, engine: CompletionEngine) -> TokenCounter:
        model_path = engine.description.model_path
        counter = self._counters.get(model_path)
        if counter is None:
            try:
                counter = gguf_token_counter(Path(model_path))
            except (VocabularyNotConvertible, OSError, KeyError, ValueError, AssertionError):
                logger.info("vocabulary does not convert to tiktoken: counting with llama.cpp")
                counter = engine.count_tokens
            self._counters[model_path] = counter
        return counter

    async def request(
        self, request: CompletionRequest, engine: CompletionEngine
    ) -> CrossFileSnippets:
        """The file path and snippets for a completion request (empty when context is off)."""
        path = path_of_uri(request.document)
        if path is None:
            return CrossFileSnippets()
        try:
            result = await self._on_thread(self._gather_with_member, path, request, engine)
        except Exception:
            logger.warning("cross-file context failed", exc_info=True)
            return CrossFileSnippets()
        assert isinstance(result, CrossFileSnippets)
        return result

    def _gather_with_member(
        self, path: Path, request: CompletionRequest, engine: CompletionEngine
    ) -> CrossFileSnippets:
        """The snippets, and the members that may follow an access at the cursor (chosen per
        request: they shape the decoding, not the prompt)."""
        gathered = self._gather(path, request, engine)
        if not request.settings.member_guide:
            return gathered
        context = self._ensure(request.settings)
        access = context.member_access(path, request.text, request.offset, request.language_id)
        return dataclasses.replace(gathered, member=access)

    def _gather(
        self, path: Path, request: CompletionRequest, engine: CompletionEngine
    ) -> CrossFileSnippets:
        """On the context thread: the document's snippets, chosen once and kept while its
        import lines, the context settings and the workspace folders stay the same. The
        snippets open the prompt, ahead of the document's text: were they chosen anew for
        each cursor, every jump would change the prompt's start and lose the document's
        cached runs."""
        context = self._ensure(request.settings)
        signature = (
            self._import_lines_of(request.document, request.text),
            context_options(request.settings),
            self._scope_key,  # the workspace folders and what may be read from them
            context.index_complete,  # chosen again once, when the whole workspace is in
        )
        kept = self._heads.get(request.document)
        reusable = kept is not None and kept[0] == signature
        if kept is not None and reusable and context.sources_remain(path, kept[1].snippets):
            context.view(path, request.text, request.cursor.line)
            return kept[1]
        chosen = self._choose(path, request, engine)
        self._heads[request.document] = (signature, chosen)
        return chosen

    def _import_lines_of(self, uri: str, text: str) -> tuple[str, ...]:
        kept = self._imports.get(uri)
        if kept is None or kept[0] != text:
            kept = (text, _import_lines(text))
            self._imports[uri] = kept
        return kept[1]

    def _choose(
        self, path: Path, request: CompletionRequest, engine: CompletionEngine
    ) -> CrossFileSnippets:
        """Choose the snippets for `request` and count what they cost."""
        options = context_options(request.settings)
        context = self._ensure(request.settings)
        relative = context.scope.relative(path) or path.name
        root = context.scope.root_of(path)
        repo_name = root.name if root is not None else ""
        if options.budget_tokens <= 0 or root is None:
            # A document outside every workspace folder belongs to no repository.
            return CrossFileSnippets(relative, repo_name)
        text, offset = request.text, request.offset
        context.view(path, text, request.cursor.line)
        count = self._counter(engine)
        snippets = tuple(context.gather(path, text, offset, request.language_id, options, count))
        tokens = sum(count(s.text) + count(s.path) + 3 for s in snippets)
        if snippets:
            tokens += count(relative) + count(repo_name) + 4
        return CrossFileSnippets(relative, repo_name, snippets, tokens)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


_IMPORT_STARTS = ("import ", "from ", "#include", "use ", "package ", "require ")


def _import_lines(text: str) -> tuple[str, ...]:
    """The lines that say what a document imports (any language fimble knows, roughly)."""
    return tuple(
        stripped
        for line in lf_lines(text)
        if (stripped := line.strip()).startswith(_IMPORT_STARTS) or "require(" in stripped
    )
