"""What a longer prefix and kept document runs cost: the figures behind the prefix defaults.

Why this file exists: a document run keeps a document's tokens in the KV cache so that a jump
costs only the suffix, but every kept cell costs memory, and a longer prompt (or more cells
in the shared cache) may slow each generated token. This measures, with the default model on
this machine, in-process (no server):

1. decode speed (tokens/s, greedy, one token per llama_decode) after prompts of 1k-4k tokens;
2. the same for a 1k prompt whose cells lie after 4k cells of another sequence (a kept run);
3. prefill speed in chunks of 64-256 tokens (how fast a run fills in the background);
4. the KV cache's bytes per token for each cache type, from llama.cpp's own allocation log;
5. the time to compute a 5,000-line document's anchors with the engine's token counter.

    python bench/prefix_budget.py                 # all of it (a few minutes on 2 cores)
    python bench/prefix_budget.py --json /tmp/prefix_budget.json
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from context.prompt_window import DocumentSegments  # noqa: E402
from engines.line_tokens import LineTokenizer  # noqa: E402
from engines.llama_runtime import ContextConfig, LlamaContext, LlamaModel  # noqa: E402
from engines.model_files import assemble_embedded_model  # noqa: E402

SOURCE_FILES = (
    "engines/llama_engine.py",
    "engines/prompt_cache.py",
    "context/completion_plan.py",
    "context/prompt_window.py",
    "engines/llama_runtime.py",
    "engines/fim_templates.py",
)
CHUNK = 64
REPEATS = 3


def corpus_tokens(model: LlamaModel, count: int) -> list[int]:
    text = "".join((PROJECT_ROOT / name).read_text() for name in SOURCE_FILES)
    tokens = model.tokenize(text)
    while len(tokens) < count:
        tokens += tokens
    return tokens[:count]


def fill(
    context: LlamaContext,
    tokens: list[int],
    seq: int,
    want_logits: bool = True,
    chunk: int = CHUNK,
    position: int = 0,
) -> float:
    """Evaluate `tokens` into `seq` from `position` on, in `chunk`-token decodes; seconds
    taken."""
    started = time.perf_counter()
    for start in range(0, len(tokens), chunk):
        stop = min(start + chunk, len(tokens))
        context.decode(
            tokens[start:stop],
            position + start,
            want_logits=want_logits and stop == len(tokens),
            seq=seq,
        )
    return time.perf_counter() - started


def decode_speed(context: LlamaContext, tokens: list[int], position: int, seq: int) -> float:
    """Tokens per second decoding `tokens` one per llama_decode after `position` cached
    tokens of `seq` (the median of REPEATS tries; the decoded cells are dropped after)."""
    speeds = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        for step, token in enumerate(tokens):
            context.decode([token], position + step, want_logits=True, seq=seq)
        speeds.append(len(tokens) / (time.perf_counter() - started))
        context.remove_from(position, seq)
    return statistics.median(speeds)


def kv_bytes_per_token(model: LlamaModel, kv_type: str, n_ctx: int = 4096) -> float:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("fimble.llama")
    handler = Collect(logging.DEBUG)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        LlamaContext(model, ContextConfig(n_ctx=n_ctx, n_batch=CHUNK, kv_type=kv_type)).close()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    found = re.search(r"KV buffer size =\s+([\d.]+) MiB", "\n".join(records))
    if found is None:
        raise RuntimeError("llama.cpp did not log its KV buffer size")
    return float(found.group(1)) * 2**20 / n_ctx


def anchor_timing(model: LlamaModel, lines: int, stride: int) -> dict[str, float]:
    text = "".join((PROJECT_ROOT / name).read_text() for name in SOURCE_FILES)
    document_lines = text.splitlines(keepends=True)
    document = "".join(document_lines[index % len(document_lines)] for index in range(lines))
    tokenizer = LineTokenizer(model.tokenize)

    def count(line: str) -> int:
        return len(tokenizer(line))

    started = time.perf_counter()
    DocumentSegments(document, count, stride)
    cold = time.perf_counter() - started
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        segments = DocumentSegments(document, count, stride)
        timings.append(time.perf_counter() - started)
    lines_of_document = document.splitlines(keepends=True)
    middle = len(lines_of_document) // 2
    lines_of_document[middle] = lines_of_document[middle].replace("\n", " # edited\n", 1)
    edited = "".join(lines_of_document)
    incremental = []
    for _ in range(5):
        started = time.perf_counter()
        DocumentSegments(edited, count, stride, previous=segments)
        incremental.append(time.perf_counter() - started)
    started = time.perf_counter()
    for offset in range(0, len(document), max(len(document) // 100, 1)):
        segments.anchored_prefix(offset, 2 * stride)
    per_prefix = (time.perf_counter() - started) / 100
    return {
        "lines": lines,
        "tokens": segments.cumulative[-1],
        "anchors": len(segments.anchors),
        "cold_ms": cold * 1000,
        "warm_ms": statistics.median(timings) * 1000,
        "after_an_edit_with_previous_ms": statistics.median(incremental) * 1000,
        "anchored_prefix_ms": per_prefix * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="1024,2048,3072,4096")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = assemble_embedded_model()
    model = LlamaModel(path)
    results: dict[str, object] = {"model": path.name, "threads": args.threads}

    lengths = sorted(int(x) for x in args.lengths.split(","))
    config = ContextConfig(
        n_ctx=max(lengths) + lengths[0] + 2 * args.steps + 256,
        n_batch=CHUNK,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_seq_max=2,
    )
    context = LlamaContext(model, config)
    tokens = corpus_tokens(model, max(lengths) + args.steps)
    probe = tokens[-args.steps :]
    decode: dict[int, float] = {}
    prefill: dict[int, float] = {}
    done = 0
    for length in lengths:
        started = time.perf_counter()
        for start in range(done, length, CHUNK):
            stop = min(start + CHUNK, length)
            context.decode(tokens[start:stop], start, want_logits=False, seq=0)
        prefill[length] = (length - done) / (time.perf_counter() - started)
        decode[length] = decode_speed(context, probe, length, seq=0)
        print(
            f"prompt {length:5d}: decode {decode[length]:5.1f} tok/s "
            f"(prefill of positions {done}-{length}: {prefill[length]:5.1f} tok/s)",
            flush=True,
        )
        done = length
    results["decode_tokens_per_s_by_prompt"] = decode
    results["prefill_tokens_per_s_by_prompt"] = prefill

    # A second sequence, as a request borrowing beside kept runs: its prompt of the shortest
    # length lies after the first sequence's cells, which it must not see.
    shortest = lengths[0]
    fill(context, tokens[:shortest], seq=1, want_logits=False)
    beside = decode_speed(context, probe, shortest, seq=1)
    print(
        f"prompt {shortest:5d} beside {max(lengths)} cells of another sequence: "
        f"decode {beside:5.1f} tok/s (alone: {decode[shortest]:5.1f})",
        flush=True,
    )
    results["decode_tokens_per_s_beside_other_cells"] = {
        "prompt": shortest,
        "other_cells": max(lengths),
        "decode": beside,
        "alone": decode[shortest],
    }
    context.close()

    chunks: dict[int, float] = {}
    for chunk in (64, 128, 256):
        chunked = LlamaContext(
            model,
            ContextConfig(
                n_ctx=2048, n_batch=chunk, n_threads=args.threads, n_threads_batch=args.threads
            ),
        )
        chunks[chunk] = 1024 / fill(chunked, tokens[:1024], seq=0, chunk=chunk)
        chunked.close()
        print(f"prefill in {chunk}-token chunks: {chunks[chunk]:6.1f} tok/s", flush=True)
    results["prefill_tokens_per_s_by_chunk"] = chunks

    per_token = {kv_type: kv_bytes_per_token(model, kv_type) for kv_type in ("f16", "q8_0")}
    for kv_type, size in per_token.items():
        print(f"KV cache {kv_type}: {size / 1024:.2f} KiB per token", flush=True)
    results["kv_bytes_per_token"] = per_token

    timing = anchor_timing(model, 5000, 1024)
    print(
        f"anchors of a {timing['lines']}-line document ({timing['tokens']} tokens, "
        f"{timing['anchors']} anchors): {timing['cold_ms']:.1f} ms first (lines tokenized), "
        f"{timing['warm_ms']:.1f} ms again (lines cached), "
        f"{timing['after_an_edit_with_previous_ms']:.1f} ms after an edit given the previous "
        f"version's segments; one anchored prefix "
        f"{timing['anchored_prefix_ms']:.3f} ms",
        flush=True,
    )
    results["anchor_timing"] = timing
    model.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
