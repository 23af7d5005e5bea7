"""Soak and cancellation storm: does `fimble serve` answer everything, for long, without growing?

Why this file exists: an editor sends a request on nearly every keystroke and cancels most of
them; a server that leaks a little per request, or deadlocks once in a thousand cancellations,
fails its user after an afternoon. This drives `fimble serve` over stdio with the real model:

1. warm-up requests (left out of the figures);
2. a cancellation storm: bursts of keystrokes in which each new request is sent at once and
   the previous one cancelled with `$/cancelRequest`, as editors do;
3. a soak of N requests over several real files, each after one typed character (20 at a
   spot, then on to a random line of a random file).

Every request must be answered (a result or a cancellation error): one that is not answered
within the guard time counts as a hang. Resident memory (VmRSS of the server process) is
sampled after warm-up and at the end; the growth is reported against the 50 MB target.

    python bench/soak.py                         # 2,000-request soak (long on 2 CPU cores)
    python bench/soak.py --requests 200 --storms 20 --json /tmp/soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lsp_session import PROJECT_ROOT, InlineAnswer, LspSession
from pygls.exceptions import JsonRpcException

SOURCE_FILES = (
    "context/postprocess/completion_finisher.py",
    "context/completion_plan.py",
    "engines/llama_engine.py",
    "lsp_server/server.py",
    "bench/humaneval.py",
)
GUARD_SECONDS = 300.0  # a request unanswered this long is counted as a hang
RSS_TARGET_MB = 50.0
KEYSTROKES_PER_SPOT = 20


@dataclass
class Figures:
    requests: int = 0
    answered: int = 0
    cancelled_answers: int = 0
    errors: int = 0
    hangs: int = 0
    latencies: list[float] = field(default_factory=list)
    rss_after_warm_up_mb: float = 0.0
    rss_after_storm_mb: float = 0.0
    rss_end_mb: float = 0.0


class Editor:
    """An editor with a few files open, typing into them."""

    def __init__(self) -> None:
        self.session = LspSession("fimble-soak")
        self.texts: dict[str, str] = {}

    def open(self, uri: str, text: str) -> None:
        self.texts[uri] = text
        self.session.open(uri, text)

    def type_at(self, uri: str, line: int, character: int, inserted: str) -> None:
        """Insert text at a position (incremental sync), as a keystroke does."""
        lines = self.texts[uri].split("\n")
        current = lines[line]
        lines[line] = current[:character] + inserted + current[character:]
        self.texts[uri] = "\n".join(lines)
        self.session.change(uri, (line, character), inserted)


async def settle(future: asyncio.Future[InlineAnswer], figures: Figures) -> str:
    """Wait for one answer; classify it."""
    figures.requests += 1
    try:
        await asyncio.wait_for(asyncio.shield(future), GUARD_SECONDS)
    except TimeoutError:
        figures.hangs += 1
        return "hang"
    except JsonRpcException as error:
        figures.answered += 1
        if "cancel" in str(error).lower():
            figures.cancelled_answers += 1
            return "cancelled"
        figures.errors += 1
        return "error"
    figures.answered += 1
    return "result"


def typing_spot(editor: Editor, uri: str, rng: random.Random) -> tuple[int, int]:
    """The end of a random non-blank line (where people type)."""
    lines = editor.texts[uri].split("\n")
    candidates = [number for number, text in enumerate(lines) if text.strip()]
    line = rng.choice(candidates)
    return line, len(lines[line])


async def storm(editor: Editor, uri: str, rng: random.Random, figures: Figures) -> None:
    """One burst: 8 keystrokes, each a request that cancels the one before it."""
    line, character = typing_spot(editor, uri, rng)
    pending: list[asyncio.Future[InlineAnswer]] = []
    previous: str | None = None
    for letter in "x = val_":
        editor.type_at(uri, line, character, letter)
        character += 1
        msg_id, future = editor.session.request_completion(uri, line, character)
        pending.append(future)
        if previous is not None:
            editor.session.cancel(previous)
        previous = msg_id
        await asyncio.sleep(rng.uniform(0.0, 0.08))
    for future in pending:
        await settle(future, figures)


class Typist:
    """Types at one spot for a while (as people do), then moves to another line or file."""

    def __init__(self, editor: Editor, uris: list[str], rng: random.Random) -> None:
        self.editor, self.uris, self.rng = editor, uris, rng
        self.uri, self.line, self.character, self.left = uris[0], 0, 0, 0

    def next_spot(self) -> tuple[str, int, int]:
        if self.left == 0:
            self.uri = self.rng.choice(self.uris)
            self.line, self.character = typing_spot(self.editor, self.uri, self.rng)
            self.left = KEYSTROKES_PER_SPOT
        self.left -= 1
        letter = self.rng.choice("abcdefghijklmnopqrstuvwxyz_ (")
        self.editor.type_at(self.uri, self.line, self.character, letter)
        self.character += 1
        return self.uri, self.line, self.character


async def soak_request(typist: Typist, figures: Figures) -> None:
    uri, line, character = typist.next_spot()
    started = time.perf_counter()
    _, future = typist.editor.session.request_completion(uri, line, character)
    if await settle(future, figures) == "result":
        figures.latencies.append(time.perf_counter() - started)


async def run(args: argparse.Namespace) -> Figures:
    rng = random.Random(args.seed)
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    editor = Editor()
    await editor.session.start()
    figures = Figures()
    uris = []
    for path in SOURCE_FILES:
        uri = (PROJECT_ROOT / path).as_uri().replace("file://", "file:///soak")
        editor.open(uri, (PROJECT_ROOT / path).read_text())
        uris.append(uri)
    typist = Typist(editor, uris, rng)
    try:
        warm = Figures()
        for _ in range(args.warm_up):
            await soak_request(typist, warm)
        figures.rss_after_warm_up_mb = editor.session.rss_mb()
        for number in range(args.storms):
            await storm(editor, uris[number % len(uris)], rng, figures)
            if args.verbose:
                print(f"  storm {number + 1}/{args.storms}: {figures}", flush=True)
        figures.rss_after_storm_mb = editor.session.rss_mb()
        for number in range(args.requests):
            await soak_request(typist, figures)
            if args.verbose and (number + 1) % 10 == 0:
                print(
                    f"  {number + 1}/{args.requests} rss {editor.session.rss_mb():.1f} MB",
                    flush=True,
                )
        figures.rss_end_mb = editor.session.rss_mb()
    except asyncio.CancelledError:  # interrupted (SIGTERM/^C): report what was measured
        figures.rss_end_mb = editor.session.rss_mb()
        print("interrupted: partial figures", flush=True)
    finally:
        await editor.session.stop()
    return figures


def report(figures: Figures, args: argparse.Namespace) -> str:
    growth = figures.rss_end_mb - figures.rss_after_warm_up_mb
    latencies = sorted(figures.latencies)
    p50 = statistics.median(latencies) if latencies else float("nan")
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    rows = [
        ("figure", "measured", "target"),
        ("requests sent", str(figures.requests), f"{args.storms * 8 + args.requests}"),
        ("answered", str(figures.answered), "all"),
        ("  of which cancelled", str(figures.cancelled_answers), "-"),
        ("  of which other errors", str(figures.errors), "0"),
        ("hangs (no answer in guard time)", str(figures.hangs), "0"),
        ("RSS after warm-up (MB)", f"{figures.rss_after_warm_up_mb:.1f}", "-"),
        ("RSS after storms (MB)", f"{figures.rss_after_storm_mb:.1f}", "-"),
        ("RSS at end (MB)", f"{figures.rss_end_mb:.1f}", "-"),
        ("RSS growth after warm-up (MB)", f"{growth:+.1f}", f"< {RSS_TARGET_MB:.0f}"),
        ("soak latency p50 / p95 (s)", f"{p50:.2f} / {p95:.2f}", "-"),
    ]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(size) for cell, size in zip(row, width, strict=True)) for row in rows
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="soak requests")
    parser.add_argument("--storms", type=int, default=50, help="bursts of 8 cancelled keystrokes")
    parser.add_argument("--warm-up", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    figures = asyncio.run(run(args))
    print(report(figures, args))
    print(f"wall time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2))
    ok = figures.hangs == 0 and figures.errors == 0 and figures.answered == figures.requests
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
