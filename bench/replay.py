"""Typing replay: what a keystroke costs with fimble's caches, without them, and at the floor.

Real lines of real files (modules of packages installed from PyPI, not written for fimble)
are typed character by character into `fimble serve` over stdio: a `didChange` for every
keystroke and an inline completion request at every word boundary, as an editor sends
them. Each answer is awaited before typing goes on, so every pass answers the same
requests, and the server's own records (`fimble/stats`) say where each answer came from
and what it cost.

Passes, in one run:
- fimble: everything on (KV cache reuse and shifting, typing-through, result memory);
- caches off: `CACHES_OFF` in lsp_session.py, every request evaluates its whole prompt;
- the floor: per fimble request, the tokens it had to evaluate times the prefill time per
  token plus the tokens generated times the decode time per token, both rates measured
  around llama.cpp's decode calls in the caches-off server (answers from memory: 0).

With `--typing-ms N` the typist pauses N ms before each keystroke (a person typing), which
leaves the server time between requests for work nobody waits for; by default keys follow
each other as soon as the previous answer is in (no idle time at all).

With `--block-lines K` the lines are written K at a time where they stand in the file, the
way code is written (the K-1 lines after the first are removed and typed again after an
Enter that brings the next line's indentation, as an editor's auto-indent does), so only the
first request of each block follows a jump; by default every line is a jump elsewhere. The
first request after each jump is reported apart (latency and evaluated prompt tokens), and so
are the requests right after an Enter: how many were answered from memory (a next line
computed ahead, say), and how fast.

A person reads before typing and clicks before moving elsewhere: `--read-ms N` leaves the
server idle N ms after a file is opened, `--jump-pause-ms N` before each later spot in the
same file. By default each spot opens the file afresh (the document with that spot's lines
removed) and closes it after; with `--stay-open` each file is opened once and each later spot
is prepared by an edit that deletes its lines' code, as a session in an editor goes.

Usage: python bench/replay.py [--lines-per-file 12] [--block-lines 1] [--off-every 2]
       [--typing-ms 0] [--read-ms 0] [--jump-pause-ms 0] [--stay-open]
       [--settings '{"quickStartTokens": 200}'] [--json out.json] [--report-from out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lsp_session import CACHES_OFF, LspSession, check_settings

SOURCE_MODULES = (
    "cachetools",
    "pygls.server",
    "platformdirs.unix",
    "tiktoken.core",
    "pytest_lsp.client",
)
WORD_BOUNDARY = re.compile(r"[\s(.,=\[:]")


@dataclass(frozen=True)
class Keystroke:
    """The document after one typed character (or a line break with the next line's
    indentation, as an editor's Enter inserts it); `ask` when a request follows it."""

    uri: str
    line: int
    column: int  # UTF-16 units, after the typed text
    character: str
    ask: bool
    rest_of_line: str
    start: tuple[int, int] | None = None  # where the text goes in; None: just before `column`


@dataclass
class Answer:
    uri: str
    latency_s: float
    source: str
    evaluated: int
    reused: int
    generated: int
    prefill_s: float
    decode_s: float
    exact: bool
    passes: int = 1
    after_jump: bool = False  # the first request of a typed block: the cursor just moved here
    after_enter: bool = False  # asked right after an Enter inside a block
    # ... and the line ended by that Enter was typed through a suggestion (the request before
    # had the rest of that line exactly): where the next line's speculation applies.
    follows_suggestion: bool = False
    moved: int = 0  # of the reused tokens, those shifted to new positions (a K-shift)


@dataclass
class Pass:
    name: str
    answers: list[Answer] = field(default_factory=list)
    rss_mb: float = 0.0
    totals: dict[str, int] = field(default_factory=dict)  # the server's, at the end


def source_files() -> list[tuple[str, str]]:
    files = []
    for name in SOURCE_MODULES:
        module = importlib.import_module(name)
        path = Path(str(module.__file__))
        files.append((path.as_uri(), path.read_text()))
    return files


def target_lines(text: str, count: int) -> list[int]:
    """Lines worth typing, spread over the file: code of some length, not comments."""
    lines = text.split("\n")
    candidates = [
        number
        for number, line in enumerate(lines)
        if 24 <= len(line.strip()) <= 90
        and not line.strip().startswith(("#", '"', "'"))
        and number > 20
    ]
    if not candidates:
        return []
    step = max(1, len(candidates) // count)
    return candidates[::step][:count]


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def script(
    uri: str, text: str, line_number: int, block_lines: int = 1
) -> tuple[str, list[Keystroke]]:
    """The document with `line_number` blanked to its indentation and the `block_lines - 1`
    lines after it removed, and the keys that write them again in order (Enter, as an
    editor's auto-indent inserts it, then the next line's characters)."""
    lines = text.split("\n")
    block = lines[line_number : line_number + block_lines]
    indent = _indentation(block[0])
    document = "\n".join([*lines[:line_number], indent, *lines[line_number + len(block) :]])
    keys: list[Keystroke] = []
    for offset, line in enumerate(block):
        number = line_number + offset
        indent = _indentation(line)
        if offset:
            previous = block[offset - 1]
            keys.append(
                Keystroke(
                    uri,
                    number,
                    utf16(indent),
                    "\n" + indent,
                    bool(line.strip()),
                    line[len(indent) :].rstrip(),
                    (number - 1, utf16(previous)),
                )
            )
        for index in range(len(indent), len(line)):
            typed = line[: index + 1]
            ask = bool(WORD_BOUNDARY.fullmatch(line[index])) and index + 1 < len(line.rstrip())
            rest = line[index + 1 :].rstrip()
            keys.append(Keystroke(uri, number, utf16(typed), line[index], ask, rest))
    return document, keys


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def type_key(session: LspSession, key: Keystroke) -> None:
    line, column = key.start or (key.line, key.column - utf16(key.character))
    session.change(key.uri, (line, column), key.character)


async def ask(session: LspSession, key: Keystroke) -> Answer:
    """An automatic inline completion where the key left the cursor, and what it cost."""
    completion = await session.complete(key.uri, key.line, key.column)
    first_line = completion.text.split("\n")[0].rstrip()
    figures = await session.stats()
    return Answer(
        key.uri,
        completion.latency_s,
        figures.source,
        figures.evaluated_tokens,
        figures.reused_tokens,
        figures.generated_tokens,
        figures.prefill_seconds,
        figures.decode_seconds,
        bool(first_line) and first_line == key.rest_of_line,
        figures.passes,
        moved=figures.moved_tokens,
    )


def block_edit(
    text: str, line_number: int, block_lines: int = 1
) -> tuple[tuple[int, int], str, tuple[int, int]]:
    """The edit (start, new text, end) that turns `text` into `script`'s document for the
    block: the code of its lines deleted, the first line's indentation kept."""
    lines = text.split("\n")
    block = lines[line_number : line_number + block_lines]
    start = (line_number, utf16(_indentation(block[0])))
    return start, "", (line_number + len(block) - 1, utf16(block[-1]))


@dataclass(frozen=True)
class Typing:
    """How the typist goes about the blocks: how many lines at a spot, whether each file stays
    open between its blocks, and the pauses (seconds) of a person typing, reading and clicking."""

    block_lines: int = 1
    stay_open: bool = False  # False: each block opens the file afresh and closes it after
    key_pause_s: float = 0.0  # before each keystroke
    read_pause_s: float = 0.0  # after opening a file, before its first block
    jump_pause_s: float = 0.0  # before each later block of the same file (a click elsewhere)


async def run_pass(
    name: str, options: dict[str, Any], work: list[tuple[str, str, int]], typing: Typing
) -> Pass:
    session = LspSession(f"fimble-replay-{name.replace(' ', '-')}", options, log_level="ERROR")
    await session.start()
    result = Pass(name)
    try:
        warm_uri, warm_text, warm_line = work[0]
        session.open(warm_uri, warm_text)
        document, keys = script(warm_uri, warm_text, warm_line)
        session.close(warm_uri)
        session.open(warm_uri, document)
        await ask(session, keys[0])  # waits for the model to load; not counted
        session.close(warm_uri)
        previous_uri = ""
        for uri, text, line in work:
            document, keys = script(uri, text, line, typing.block_lines)
            same_file = uri == previous_uri
            if same_file and typing.stay_open:
                start, new_text, end = block_edit(text, line, typing.block_lines)
                session.change(uri, start, new_text, end)
            else:
                if previous_uri and typing.stay_open:
                    session.close(previous_uri)
                session.open(uri, document)
            pause_s = typing.jump_pause_s if same_file else typing.read_pause_s
            if pause_s:
                await asyncio.sleep(pause_s)
            first = True
            previous: Answer | None = None
            for key in keys:
                if typing.key_pause_s:
                    await asyncio.sleep(typing.key_pause_s)
                type_key(session, key)
                if key.ask:
                    answer = await ask(session, key)
                    answer.after_jump, first = first, False
                    answer.after_enter = key.start is not None
                    answer.follows_suggestion = (
                        answer.after_enter and previous is not None and previous.exact
                    )
                    result.answers.append(answer)
                    previous = answer
            if not typing.stay_open:
                session.close(uri)
            previous_uri = uri
            print(f"  {name}: {len(result.answers)} requests answered", file=sys.stderr)
        result.rss_mb = session.rss_mb()
        result.totals = await session.totals()
    finally:
        await session.stop()
    print(f"  {name}: {len(result.answers)} requests", file=sys.stderr)
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def floor_seconds(answer: Answer, prefill_per_token: float, decode_per_token: float) -> float:
    if answer.source != "model":
        return 0.0
    return answer.evaluated * prefill_per_token + answer.generated * decode_per_token


def summary_row(name: str, latencies: list[float], answers: list[Answer]) -> str:
    evaluated = [float(a.evaluated) if a.source == "model" else 0.0 for a in answers]
    through = sum(a.source == "typing_through" for a in answers) / max(1, len(answers))
    exact = sum(a.exact for a in answers) / max(1, len(answers))
    return (
        f"| {name} | {len(latencies)} | {statistics.median(latencies) * 1000:.0f} | "
        f"{percentile(latencies, 0.95) * 1000:.0f} | {statistics.median(evaluated):.0f} | "
        f"{through:.1%} | {exact:.1%} |"
    )


def ratio(top: list[float], bottom: list[float]) -> float:
    return statistics.median(top) / max(1e-9, statistics.median(bottom))


def floor_ratio(latencies: list[float], floors: list[float]) -> str:
    """fimble's p50 against the floor's, as a ratio; where most answers came from memory the
    floor's p50 is 0 and only the difference says anything."""
    top, bottom = statistics.median(latencies), statistics.median(floors)
    if bottom <= 0:
        return f"{top * 1000:.0f} ms over a floor of 0 ms (most answers came from memory)"
    return f"{top / bottom:.2f}x"


# A keystroke's prompt evaluates a handful of tokens; longer prefills (jumps, opened files)
# are reported apart, with the first request after each jump.
KEYSTROKE_TOKENS = 30


def shift_overhead(answers: list[Answer], prefill_per_token: float) -> str:
    """Every keystroke-sized model answer's prefill time beyond its tokens at the caches-off
    rate, in three groups: those that moved cached tokens (llama.cpp shifts them in one pass
    over the whole KV cache: bench/kv_shift.py), and of those that moved none, the one-token
    ones and the others (a short batch costs far more per token than a long one). The floor
    leaves both costs out."""
    groups: dict[str, list[float]] = {
        "moved cached tokens": [],
        "moved none, 1 token": [],
        "moved none, 2 or more": [],
    }
    for answer in answers:
        if answer.source != "model" or answer.evaluated > KEYSTROKE_TOKENS:
            continue
        if answer.moved > 0:
            group = "moved cached tokens"
        else:
            group = "moved none, 1 token" if answer.evaluated <= 1 else "moved none, 2 or more"
        groups[group].append(answer.prefill_s - answer.evaluated * prefill_per_token)
    parts = [
        f"{name} ({len(extra)}) p50 {statistics.median(extra or [0.0]) * 1000:.0f} ms"
        for name, extra in groups.items()
    ]
    return (
        f"model answers evaluating at most {KEYSTROKE_TOKENS} tokens, their prefill beyond "
        "their tokens at that rate: " + ", ".join(parts)
    )


def report(fimble: Pass, off: Pass, common: list[int]) -> str:
    model_off = [a for a in off.answers if a.evaluated > 0]
    evaluated_off = max(1, sum(a.evaluated for a in model_off))
    prefill_rate = sum(a.prefill_s for a in model_off) / evaluated_off
    generated = [a for a in off.answers if a.generated > 0]
    decode_rate = sum(a.decode_s for a in generated) / max(1, sum(a.generated for a in generated))
    shared_fimble = [fimble.answers[i] for i in common]
    shared_off = off.answers
    floors = [floor_seconds(a, prefill_rate, decode_rate) for a in shared_fimble]
    fimble_latency = [a.latency_s for a in shared_fimble]
    off_latency = [a.latency_s for a in shared_off]
    model_pairs = [
        (a.latency_s, f) for f, a in zip(floors, shared_fimble, strict=True) if a.source == "model"
    ]
    model_latency = [latency for latency, _ in model_pairs] or [0.0]
    model_floors = [floor for _, floor in model_pairs] or [0.0]
    every = [a.latency_s for a in fimble.answers]
    after_jump = [(a, b) for a, b in zip(shared_fimble, shared_off, strict=True) if a.after_jump]
    jumps = [a.latency_s for a, _ in after_jump]
    jumps_off = [b.latency_s for _, b in after_jump]
    jump_tokens = [float(a.evaluated) for a, _ in after_jump]
    jump_tokens_off = [float(b.evaluated) for _, b in after_jump]
    files = len({a.uri for a in fimble.answers})
    enters = [a for a in fimble.answers if a.after_enter]
    from_memory = [a.latency_s for a in enters if a.source != "model"]
    sources = Counter(a.source for a in enters)
    followed = [a for a in enters if a.follows_suggestion]
    followed_memory = [a.latency_s for a in followed if a.source != "model"]
    lines = [
        f"prefill {1 / prefill_rate:.0f} tokens/s, decode {1 / decode_rate:.1f} tokens/s "
        "(measured in the caches-off server)",
        "",
        "| pass | requests | p50 ms | p95 ms | evaluated tokens p50 | typing-through | "
        "exact rest of line |",
        "|---|---|---|---|---|---|---|",
        summary_row("fimble", fimble_latency, shared_fimble),
        summary_row("caches off", off_latency, shared_off),
        summary_row("floor", floors, shared_fimble),
        "",
        f"fimble p50 / floor p50: {floor_ratio(fimble_latency, floors)}",
        f"model answers only ({len(model_pairs)}): fimble p50 "
        f"{statistics.median(model_latency) * 1000:.0f} ms, floor p50 "
        f"{statistics.median(model_floors) * 1000:.0f} ms "
        f"({floor_ratio(model_latency, model_floors)})",
        f"caches off p50 / fimble p50: {ratio(off_latency, fimble_latency):.1f}x",
        f"first request after each jump ({len(jumps)}): fimble p50 "
        f"{statistics.median(jumps or [0.0]) * 1000:.0f} ms, "
        f"p95 {percentile(jumps, 0.95) * 1000:.0f} ms; "
        f"caches off p50 {statistics.median(jumps_off or [0.0]) * 1000:.0f} ms",
        f"  their evaluated prompt tokens: fimble p50 {statistics.median(jump_tokens or [0.0]):.0f}"
        f", p95 {percentile(jump_tokens, 0.95):.0f}; caches off p50 "
        f"{statistics.median(jump_tokens_off or [0.0]):.0f}",
        f"fimble requests right after an Enter ({len(enters)}): "
        f"{len(from_memory) / max(1, len(enters)):.0%} answered from memory, their p50 "
        f"{statistics.median(from_memory or [0.0]) * 1000:.0f} ms (by source: "
        + ", ".join(f"{source} {count}" for source, count in sorted(sources.items()))
        + ")",
        f"  of them after a line typed through a suggestion ({len(followed)}): "
        f"{len(followed_memory) / max(1, len(followed)):.0%} answered from memory, their p50 "
        f"{statistics.median(followed_memory or [0.0]) * 1000:.0f} ms, p95 "
        f"{percentile(followed_memory, 0.95) * 1000:.0f} ms",
        "",
        f"all fimble requests ({len(fimble.answers)} over {files} files): "
        f"p50 {statistics.median(every) * 1000:.0f} ms, "
        f"p95 {percentile(every, 0.95) * 1000:.0f} ms, "
        f"resident set of `fimble serve` at the end {fimble.rss_mb:.0f} MB",
        shift_overhead(fimble.answers, prefill_rate),
        f"fimble's server totals (background work included): {fimble.totals}",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--lines-per-file", type=int, default=12)
    parser.add_argument(
        "--block-lines",
        type=int,
        default=1,
        help="consecutive lines written at each spot (1: every line is a jump elsewhere)",
    )
    parser.add_argument(
        "--off-every", type=int, default=2, help="the caches-off pass types every Nth block"
    )
    parser.add_argument(
        "--typing-ms",
        type=float,
        default=0.0,
        help="pause before each keystroke (0: type as fast as answers come, the default)",
    )
    parser.add_argument(
        "--read-ms",
        type=float,
        default=0.0,
        help="pause after opening each file, before typing in it (a person reading)",
    )
    parser.add_argument(
        "--jump-pause-ms",
        type=float,
        default=0.0,
        help="pause before each later spot in the same file (a person clicking elsewhere)",
    )
    parser.add_argument(
        "--stay-open",
        action="store_true",
        help="open each file once and prepare its later spots by an edit there "
        "(default: each spot reopens the file)",
    )
    parser.add_argument(
        "--settings", default="{}", help="fimble settings for the fimble pass, as JSON"
    )
    parser.add_argument("--json", help="write every answer here")
    parser.add_argument(
        "--report-from", help="report the answers a --json run wrote (same other options)"
    )
    args = parser.parse_args(argv)
    for name in ("lines_per_file", "block_lines", "off_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("typing_ms", "read_ms", "jump_pause_ms"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    return args


def typing_of(args: argparse.Namespace) -> Typing:
    return Typing(
        block_lines=args.block_lines,
        stay_open=args.stay_open,
        key_pause_s=args.typing_ms / 1000,
        read_pause_s=args.read_ms / 1000,
        jump_pause_s=args.jump_pause_ms / 1000,
    )


async def main() -> None:
    args = parse_args()
    typing = typing_of(args)
    blocks = max(1, args.lines_per_file // args.block_lines)
    work = [
        (uri, text, line)
        for uri, text in source_files()
        for line in (
            target_lines(text, blocks)
            if args.block_lines == 1
            # Blocks start mid-way between the single-line spots: away from the file's head.
            else target_lines(text, 2 * blocks)[1::2]
        )
    ]
    off_work = work[:: args.off_every]
    print(
        f"typing {len(work)} blocks of {args.block_lines} line(s) in {len(SOURCE_MODULES)} files",
        file=sys.stderr,
    )
    if typing.key_pause_s:
        print(f"a keystroke every {args.typing_ms:.0f} ms at the least", file=sys.stderr)
    if typing.read_pause_s or typing.jump_pause_s:
        print(
            f"{args.read_ms:.0f} ms of reading after opening a file, {args.jump_pause_ms:.0f} ms "
            "before each later spot",
            file=sys.stderr,
        )
    settings = json.loads(args.settings)
    if args.report_from:
        saved = json.loads(Path(args.report_from).read_text())
        fimble = Pass("fimble", [Answer(**each) for each in saved["fimble"]])
        off = Pass("caches off", [Answer(**each) for each in saved["off"]])
    else:
        for each in (settings, CACHES_OFF):
            await check_settings(each)
        fimble = await run_pass("fimble", settings, work, typing)
        off = await run_pass("caches off", CACHES_OFF, off_work, typing)
    # The caches-off pass's requests are those of fimble's on every Nth line.
    per_line: list[list[int]] = []
    index = 0
    for uri, text, line in work:
        count = sum(key.ask for key in script(uri, text, line, args.block_lines)[1])
        per_line.append(list(range(index, index + count)))
        index += count
    common = [i for lines in per_line[:: args.off_every] for i in lines]
    print(report(fimble, off, common))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "fimble": [asdict(a) for a in fimble.answers],
                    "off": [asdict(a) for a in off.answers],
                }
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
