"""The in-process engine: FIM generation on llama.cpp, in fimble's own decoding loop.

Prompts are built from token ids (see `fim_templates`), the tokens already in the KV cache
are reused up to the first difference, and generation is greedy in a loop that yields text as
soon as each token is known. The consumer ends generation by closing the stream; a set cancel
event stops it between prefill chunks and between tokens.
"""

from __future__ import annotations

import codecs
import dataclasses
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache

from engines.completion_engine import (
    CompletionCancelled,
    EngineDescription,
    FimRequest,
    GenerationStats,
)
from engines.fim_templates import (
    ResolvedFimTemplate,
    path_comment_block,
    resolve_fim_template,
    split_at_line_start,
)
from engines.line_tokens import LineTokenizer
from engines.llama_runtime import ContextConfig, LlamaContext, LlamaModel, ModelLoadError
from engines.member_guide import MemberGuide
from engines.model_files import ModelFileError, check_gguf_file
from engines.piece_index import PieceIndex
from engines.prompt_cache import PromptCache, PromptCacheConfig

# How many of the likeliest tokens are tried for one that steers clear of `avoid_start`.
AVOID_CANDIDATES = 64
# Candidates the member guide tries, best first, before it looks through the whole vocabulary.
GUIDE_CANDIDATES = 256
# Model files up to this size are read into memory (rewriting one in place cannot crash the
# server); larger ones are mapped, so that a mixture-of-experts model's unused experts stay
# on disk and a model near the size of memory loads at all.
IN_MEMORY_MODEL_BYTES = 2 * 1024**3
# A cursor line longer than this (minified code) goes back into the prefix.
MAX_TYPED_TOKENS = 256


@dataclass(frozen=True)
class LlamaEngineConfig:
    model_path: Path
    n_ctx: int = 8192
    n_threads: int = 2
    n_threads_batch: int = 2
    fim_template: str | None = None
    cache: PromptCacheConfig = field(default_factory=PromptCacheConfig)
    kv_type: str = "f16"
    flash_attention: bool | None = None  # None: llama.cpp decides
    # False: the plain prefix-suffix-middle order (benchmark baselines); see split_at_line_start.
    typed_line_after_middle: bool = True


class LlamaEngine:
    """A `CompletionEngine` running a GGUF model inside this process."""

    def __init__(self, config: LlamaEngineConfig) -> None:
        check_gguf_file(config.model_path)
        try:
            in_memory = config.model_path.stat().st_size <= IN_MEMORY_MODEL_BYTES
            self._model = LlamaModel(config.model_path, in_memory=in_memory)
        except ModelLoadError as error:
            raise ModelFileError(
                f"llama.cpp could not load {config.model_path}: the file is truncated, corrupt, "
                "or of an architecture this llama.cpp build does not know. Replace the file "
                "(for the embedded default, delete it so it is assembled again)."
            ) from error
        self._config = config
        self._context = LlamaContext(
            self._model,
            ContextConfig(
                n_ctx=config.n_ctx,
                n_batch=config.cache.chunk,
                n_threads=config.n_threads,
                n_threads_batch=config.n_threads_batch,
                n_seq_max=PromptCache.sequences_needed(config.cache),
                kv_type=config.kv_type,
                flash_attention=config.flash_attention,
            ),
        )
        self._cache = PromptCache(self._context, config.cache)
        self._tokenize = LineTokenizer(self._model.tokenize)
        self._template: ResolvedFimTemplate = resolve_fim_template(
            self._model.special_token,
            self._model.declared_fim_ids(),
            self._model.end_of_generation_ids(),
            config.fim_template,
        )
        self._allowed_by_prefix: LRUCache[bytes, npt.NDArray[np.bool_]] = LRUCache(maxsize=64)
        # Built with the model, not on the first keystroke (about 0.3 s for 151k tokens).
        self._piece_index = PieceIndex(self._model.pieces())
        self._stats = GenerationStats()
        self._last_prompt: tuple[FimRequest, tuple[list[int], bytes]] | None = None
        self._end_ids = np.array(
            sorted(
                self._template.stop_ids
                | {t for t in range(self._model.n_vocab) if self._model.is_end_of_generation(t)}
            ),
            dtype=np.intp,
        )
        self._description = EngineDescription(
            model_path=str(config.model_path),
            fim_template=self._template.name,
            details={
                **self._model.describe(),
                "context_tokens": str(self._context.n_ctx),
                "kv_cache_type": config.kv_type,
                "flash_attention": {None: "auto", True: "on", False: "off"}[config.flash_attention],
                "threads": f"{config.n_threads} decode, {config.n_threads_batch} prefill",
                "kv_shift": "yes" if self._context.can_shift else "no (prefix reuse only)",
                "cached_documents": str(config.cache.documents),
                "document_runs": str(config.cache.runs),
            },
        )

    @property
    def description(self) -> EngineDescription:
        return self._description

    @property
    def last_stats(self) -> GenerationStats:
        return self._stats

    @property
    def model_file(self) -> Path:
        return self._config.model_path

    def close(self) -> None:
        self._context.close()
        self._model.close()

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(text))

    def _fit(self, prefix_ids: list[int], suffix_ids: list[int], max_tokens: int) -> None:
        room = self._context.n_ctx - max_tokens - 4
        while len(prefix_ids) + len(suffix_ids) > room and suffix_ids:
            del suffix_ids[len(suffix_ids) // 2 :]
            if len(suffix_ids) < 8:
                suffix_ids.clear()
        if len(prefix_ids) > room:
            del prefix_ids[: len(prefix_ids) - room]

    def _allowed(self, required: bytes) -> npt.NDArray[np.bool_]:
        allowed = self._allowed_by_prefix.get(required)
        if allowed is None:
            allowed = self._piece_index.healing_mask(required)
            self._allowed_by_prefix[required] = allowed
        return allowed

    def _prompt(self, request: FimRequest) -> tuple[list[int], bytes]:
        """The prompt's token ids, and the bytes a healed last token must start with.

        The last one is remembered: a request is often costed (`pending_tokens`) or asked
        again (steered away from a refused start) with the same prompt.
        """
        key = dataclasses.replace(request, avoid_start="", end_probability_at_line_break=0.0)
        if self._last_prompt is not None and self._last_prompt[0] == key:
            return self._last_prompt[1]
        built = self._build_prompt(request)
        self._last_prompt = (key, built)
        return built

    def _head_and_prefix(self, request: FimRequest) -> tuple[list[int], str]:
        """The head's token ids (other files) and the prefix text as the prompt shows it."""
        head = self._template.repo_head(
            request.repo_name, request.snippets, request.file_path, self._tokenize
        )
        prefix = request.prefix
        if request.snippets and not self._template.has_repo_tokens:
            prefix = path_comment_block(request.snippets, request.file_path) + prefix
        if len(head) > (self._context.n_ctx - request.max_tokens) // 2:
            head = []  # context from other files never crowds out the current file
        return head, prefix

    def _prompt_start(self, head: list[int]) -> list[int]:
        bos = self._model.bos_id()
        return [*([bos] if bos is not None else []), *head, self._template.prefix_id]

    def _build_prompt(self, request: FimRequest) -> tuple[list[int], bytes]:
        head, prefix = self._head_and_prefix(request)
        above, typed = prefix, ""
        if self._config.typed_line_after_middle:
            above, typed = split_at_line_start(prefix, self._template)
        prefix_ids = self._tokenize(above)
        suffix_ids = self._tokenize(request.suffix)
        typed_ids = self._tokenize(typed)
        if len(typed_ids) > MAX_TYPED_TOKENS:
            prefix_ids, typed_ids = self._tokenize(prefix), []
        required = b""
        ending = typed_ids if typed_ids else prefix_ids  # the part the prompt's text ends with
        if request.heal_last_token and ending:
            last = self._model.piece(ending[-1])
            if last and b"\n" not in last:
                ending.pop()
                required = last
        self._fit(prefix_ids, suffix_ids, request.max_tokens + len(head) + len(typed_ids))
        prompt = self._template.prompt(prefix_ids, suffix_ids, self._model.bos_id(), head)
        return prompt + typed_ids, required

    def next_token_scores(self) -> npt.NDArray[np.float32]:
        """A copy of the model's scores for the token after the last one evaluated (after
        `prefill`: for the first token of the request's middle)."""
        return self._context.last_logits().copy()

    def pending_tokens(self, request: FimRequest) -> int:
        prompt, _ = self._prompt(request)
        return self._cache.pending(request.document, prompt, request.lane)

    def _run_tokens(self, request: FimRequest) -> list[int] | None:
        """The tokens a document run for `request` holds: the prompt's start up to the last
        line start of its prefix (None: the template puts the suffix first, no runs)."""
        if self._template.suffix_first:
            return None
        head, prefix = self._head_and_prefix(request)
        whole_lines = prefix[: prefix.rfind("\n") + 1]
        return self._prompt_start(head) + self._tokenize(whole_lines)

    def _run_key(self, request: FimRequest) -> int:
        if request.anchor is None:
            raise ValueError("a document run needs the request's anchor line")
        return request.anchor

    def prefill_run(
        self, request: FimRequest, cancel: threading.Event, limit_tokens: int | None = None
    ) -> int:
        """Evaluate the document run from `request.anchor` over `request.prefix` (see
        `CompletionEngine.prefill_run`); returns the tokens still missing."""
        anchor = self._run_key(request)
        tokens = self._run_tokens(request)
        if tokens is None:
            return 0
        return self._cache.fill_run(request.document, anchor, tokens, cancel, limit_tokens)

    def run_pending(self, request: FimRequest) -> int:
        anchor = self._run_key(request)
        tokens = self._run_tokens(request)
        if tokens is None:
            return 0
        return self._cache.run_pending(request.document, anchor, tokens)

    def prefill(self, request: FimRequest, cancel: threading.Event) -> None:
        """Bring the KV cache to the request's prompt now, so that asking costs little."""
        prompt, _ = self._prompt(request)
        self._cache.prefill(request.document, prompt, request.max_tokens, cancel, request.lane)

    def stream(self, request: FimRequest, cancel: threading.Event) -> Generator[str, None, None]:
        self._stats = GenerationStats()
        prompt, required = self._prompt(request)
        self._stats.healed = bool(required)
        self._stats.prompt_tokens = len(prompt)
        started = time.perf_counter()
        try:
            prefilled = self._cache.prefill(
                request.document, prompt, request.max_tokens, cancel, request.lane
            )
        except CompletionCancelled:
            self._stats.stop_reason = "cancelled"
            raise
        plan = prefilled.plan
        self._stats.reused_tokens = plan.reused
        self._stats.moved_tokens = plan.reused - plan.keep
        self._stats.run_tokens = prefilled.run_tokens
        self._stats.evaluated_tokens = plan.evaluated
        decoding = time.perf_counter()
        self._stats.prefill_seconds = decoding - started
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            yield from self._generate(request, required, decoder, cancel)
        finally:
            self._stats.decode_seconds = time.perf_counter() - decoding

    def _end_probability(self, logits: npt.NDArray[np.float32]) -> float:
        shifted = np.exp(logits - logits.max())
        return float(shifted[self._end_ids].sum() / shifted.sum())

    def _choose(
        self,
        logits: npt.NDArray[np.float32],
        required: bytes,
        avoid: str,
        written: str,
        guide: MemberGuide,
    ) -> int:
        """The greedy token, healing's constraint, the member guide and `avoid` respected."""
        if required:
            logits = np.where(self._allowed(required), logits, -np.inf)
        best = int(np.argmax(logits))
        if guide.active:
            return self._guided(logits, required, guide, best)
        if not avoid:
            return best
        for candidate in np.argsort(logits)[::-1][:AVOID_CANDIDATES]:
            token = int(candidate)
            piece = self._model.piece(token)[len(required) :]
            visible = (written + piece.decode("utf-8", errors="ignore")).lstrip()
            if not visible or not (avoid.startswith(visible) or visible.startswith(avoid)):
                return token
        return best

    def _guided(
        self, logits: npt.NDArray[np.float32], required: bytes, guide: MemberGuide, best: int
    ) -> int:
        """The best candidate that keeps the member on the way to a known name."""
        for candidate in np.argsort(logits)[::-1][:GUIDE_CANDIDATES]:
            token = int(candidate)
            if not np.isfinite(logits[token]):
                break
            if token in self._template.stop_ids or self._model.is_end_of_generation(token):
                if guide.allows_end():
                    return token
                continue
            piece = self._model.piece(token)[len(required) :]
            if guide.allows(piece.decode("utf-8", errors="ignore")):
                return token
        return self._likeliest_continuation(logits, required, guide, best)

    def _likeliest_continuation(
        self, logits: npt.NDArray[np.float32], required: bytes, guide: MemberGuide, best: int
    ) -> int:
        """The likeliest token of the whole vocabulary that spells a next part of a known name
        (`best` where none does)."""
        tokens = [
            token
            for text in guide.continuations()
            for token in self._piece_index.equal_to(required + text.encode())
            if np.isfinite(logits[token])
        ]
        return max(tokens, key=lambda token: float(logits[token]), default=best)

    def _generate(
        self,
        request: FimRequest,
        required: bytes,
        decoder: codecs.IncrementalDecoder,
        cancel: threading.Event,
    ) -> Iterator[str]:
        stop_ids = self._template.stop_ids
        self._stats.stop_reason = "max_tokens"
        at_line_break = False
        avoid, written = request.avoid_start.strip(), ""
        guide = MemberGuide(request.member_names, request.member_typed)
        for _ in range(request.max_tokens):
            logits = self._context.last_logits()
            threshold = request.end_probability_at_line_break
            if at_line_break and threshold > 0 and self._end_probability(logits) >= threshold:
                self._stats.stop_reason = "likely_end"
                break
            token = self._choose(logits, required, avoid, written, guide)
            if token in stop_ids or self._model.is_end_of_generation(token):
                self._stats.stop_reason = "end_of_generation"
                break
            piece = self._model.piece(token)
            if required:
                piece = piece[len(required) :]
                required = b""
            text = decoder.decode(piece)
            guide.advance(text)
            at_line_break = text.endswith("\n")
            if avoid:
                written += text
                if written.strip():
                    avoid = ""
            self._stats.generated_tokens += 1
            self._stats.stop_reason = "consumer"
            if text:
                yield text
            self._stats.stop_reason = "max_tokens"
            if cancel.is_set():
                self._stats.stop_reason = "cancelled"
                raise CompletionCancelled()
            self._cache.append(request.document, token, request.lane)
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail
