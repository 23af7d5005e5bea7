"""What moving cached tokens costs: llama.cpp's K-shift against the size of the KV cache.

Why this file exists: a request whose prompt moves cached tokens (the suffix after an Enter or
an edit above it, a speculation's next line, the user's next keystroke after one) shifts their
positions instead of evaluating them again. llama.cpp applies the pending shifts before the next
decode as one pass over the keys of the whole cache, so its cost grows with the context size
(`contextSize`, n_ctx), not with the few hundred tokens moved. The replay's floor (tokens
evaluated times the prefill rate) leaves this out; this measures it, in-process with the
default model (no server):

for each context size and cache type, `--depth` tokens are evaluated into one sequence; then,
`--rounds` times, one token is decoded as is, and one after the last `--moved` cells were
shifted one position on. Medians are printed side by side, with the shift's own cost (the
difference) as a ratio to the smallest context's.

    python bench/kv_shift.py                              # 4096,12288,24576 cells; f16, q8_0
    python bench/kv_shift.py --sizes 8192,24576 --kv-types f16 --json out.json
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

from prefix_budget import corpus_tokens, fill  # noqa: E402

from engines.llama_runtime import ContextConfig, LlamaContext, LlamaModel  # noqa: E402
from engines.model_files import assemble_embedded_model  # noqa: E402


def decode_seconds(context: LlamaContext, token: int, position: int) -> float:
    started = time.perf_counter()
    context.decode([token], position, want_logits=True)
    return time.perf_counter() - started


def measure(
    model: LlamaModel, tokens: list[int], size: int, kv_type: str, args: argparse.Namespace
) -> tuple[float, float]:
    """Median seconds of a one-token decode, as is and with a shift pending."""
    context = LlamaContext(
        model,
        ContextConfig(
            n_ctx=size, n_threads=args.threads, n_threads_batch=args.threads, kv_type=kv_type
        ),
    )
    try:
        fill(context, tokens[: args.depth], seq=0, want_logits=False)
        position = args.depth
        plain: list[float] = []
        shifted: list[float] = []
        for _ in range(args.rounds):
            plain.append(decode_seconds(context, tokens[position], position))
            position += 1
            context.shift(0, position - args.moved, position, 1)
            position += 1
            shifted.append(decode_seconds(context, tokens[position], position))
            position += 1
        return statistics.median(plain), statistics.median(shifted)
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="4096,12288,24576", help="context sizes (cells)")
    parser.add_argument("--kv-types", default="f16,q8_0")
    parser.add_argument("--depth", type=int, default=1024, help="tokens in the cache")
    parser.add_argument("--moved", type=int, default=256, help="cells each shift moves")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(value) for value in args.sizes.split(",")]
    model = LlamaModel(assemble_embedded_model())
    tokens = corpus_tokens(model, args.depth + 3 * args.rounds)
    results = []
    for kv_type in args.kv_types.split(","):
        smallest_shift = 0.0
        for size in sizes:
            plain, shifted = measure(model, tokens, size, kv_type, args)
            shift = max(shifted - plain, 1e-6)
            smallest_shift = smallest_shift or shift
            results.append(
                {"kv_type": kv_type, "n_ctx": size, "decode_s": plain, "after_shift_s": shifted}
            )
            print(
                f"{kv_type}, n_ctx {size}: one token {plain * 1000:.0f} ms, after a shift of "
                f"{args.moved} cells {shifted * 1000:.0f} ms (the shift {shift * 1000:.0f} ms, "
                f"{shift / smallest_shift:.2f}x n_ctx {sizes[0]}'s)",
                flush=True,
            )
    model.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
