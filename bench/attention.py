"""Flash attention on or off on this machine: what a request's suffix and answer cost with each.

Why this file exists: llama.cpp's `auto` turns its fused attention kernel on for a CPU. On
the development machine that kernel decoded about half as fast at a 2,048-token depth, but
it skips cells masked out, so beside other sequences' cells (kept documents and document
runs share one unified KV cache) it evaluates a prompt faster. Which of the two wins depends
on the mix, so `flashAttention` is a setting and this measures both sides, in-process with
the default model (no server):

- the suffix: `--suffix` tokens evaluated in 64-token chunks after a prompt of `--depth`
  tokens (what a jump evaluates once its document run is in);
- the answer: `--decode` tokens generated one per llama_decode after that;
- each alone in the cache and beside `--other` cells of another sequence, which are placed
  first, as the runs filled in the background are.

Each configuration is built afresh per round, rounds alternate the order of on and off, and the
median over rounds is printed with the ratio off / on.

    python bench/attention.py                       # depth 2048, other 0 and 6144, 2 rounds
    python bench/attention.py --depth 1024 --other 0,12288 --rounds 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from prefix_budget import CHUNK, corpus_tokens, fill  # noqa: E402

from engines.llama_runtime import ContextConfig, LlamaContext, LlamaModel  # noqa: E402
from engines.model_files import assemble_embedded_model  # noqa: E402


def measure(
    model: LlamaModel,
    tokens: list[int],
    args: argparse.Namespace,
    other: int,
    flash: bool,
) -> tuple[float, float]:
    """Suffix evaluation and decode speed (tokens/s) for one configuration."""
    context = LlamaContext(
        model,
        ContextConfig(
            n_ctx=args.depth + other + args.suffix + args.decode + 256,
            n_batch=CHUNK,
            n_threads=args.threads,
            n_threads_batch=args.threads,
            n_seq_max=2,
            flash_attention=flash,
        ),
    )
    try:
        prompt, rest = tokens[: args.depth], tokens[args.depth :]
        if other:
            fill(context, rest[args.suffix + args.decode :][:other], seq=1, want_logits=False)
        fill(context, prompt, seq=0, want_logits=False)
        suffix = rest[: args.suffix]
        suffix_speed = len(suffix) / fill(context, suffix, seq=0, position=args.depth)
        answer = rest[args.suffix : args.suffix + args.decode]
        position = args.depth + len(suffix)
        started = time.perf_counter()
        for step, token in enumerate(answer):
            context.decode([token], position + step, want_logits=True, seq=0)
        return suffix_speed, len(answer) / (time.perf_counter() - started)
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--depth", type=int, default=2048, help="prompt tokens before the suffix")
    parser.add_argument("--other", default="0,6144", help="other sequences' cells, comma list")
    parser.add_argument("--suffix", type=int, default=128)
    parser.add_argument("--decode", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    others = [int(value) for value in args.other.split(",")]
    model = LlamaModel(assemble_embedded_model())
    tokens = corpus_tokens(model, args.depth + args.suffix + args.decode + max(others))
    results = []
    for other in others:
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for round_number in range(args.rounds):
            for flash in (False, True) if round_number % 2 == 0 else (True, False):
                runs[flash].append(measure(model, tokens, args, other, flash))
        row = {
            "depth": args.depth,
            "other_cells": other,
            **{
                f"{name}_{'on' if flash else 'off'}": statistics.median(
                    run[index] for run in runs[flash]
                )
                for flash in (False, True)
                for index, name in enumerate(("suffix_tokens_per_s", "decode_tokens_per_s"))
            },
        }
        results.append(row)
        print(
            f"depth {args.depth}, beside {other} other cells: suffix ({args.suffix} tokens) "
            f"off {row['suffix_tokens_per_s_off']:.1f} / on {row['suffix_tokens_per_s_on']:.1f} "
            f"tok/s ({row['suffix_tokens_per_s_off'] / row['suffix_tokens_per_s_on']:.2f}x); "
            f"decode off {row['decode_tokens_per_s_off']:.1f} / on "
            f"{row['decode_tokens_per_s_on']:.1f} tok/s "
            f"({row['decode_tokens_per_s_off'] / row['decode_tokens_per_s_on']:.2f}x)",
            flush=True,
        )
    model.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
