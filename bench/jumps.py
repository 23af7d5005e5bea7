"""Jumps in a large file: what clicking far away and pressing Enter costs, caches on and off.

Why this file exists: typing on one line is cheap once the prompt is cached, but coding is
mostly moving about (opening a file, clicking elsewhere, going back up to fix a signature), and
each move changes the prompt's window. This measures that move as a person makes it, through
`fimble serve` over stdio.

A real module not written for fimble (click's `utils.py` by default, 600-1,000 lines, read from
site-packages at run time) is opened inside a workspace folder (its package's folder), with a
few of its neighbours open too. The server is left idle for a reading time (`--read-s`: what
background work may use), then the person jumps far away five times (down, up, down, ...): a
pause (`--jump-pause-s`), Enter at the end of a statement (the editor's auto-indent bringing
the line's indentation) and an automatic inline completion there. Per jump: the prompt tokens
the server evaluated (from `fimble/stats`) and the latency, from the request sent to the answer
received. Then the same in a fresh server with every cache off, and both side by side.

    python bench/jumps.py [--module click.utils] [--read-s 60] [--jump-pause-s 2] [--jumps 5]
        [--others 3] [--settings '{}'] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lsp_session import CACHES_OFF, LspSession, check_settings
from replay import percentile, utf16

LINES_WANTED = range(600, 1001)
# Where each jump lands, as a share of the file's lines: far down, then far up, in turn.
DOWN_AT = (0.85, 0.9, 0.8)
UP_AT = (0.15, 0.25, 0.1)
STRING_LITERAL = re.compile(r"'(?:\\.|[^'\\])*'" + r'|"(?:\\.|[^"\\])*"')
BLOCK_ENDS = {"return", "raise", "continue", "break", "pass"}  # code after them is unreachable
NOT_A_STATEMENT_END = (":", ",", "(", "[", "{", "\\", "=", "+", "-", "*", "/")


@dataclass(frozen=True)
class Scene:
    """The file jumped about in, its workspace folder and the documents open beside it."""

    folder: Path
    path: Path
    text: str
    others: tuple[Path, ...]


@dataclass(frozen=True)
class Pacing:
    read_s: float = 60.0
    jump_pause_s: float = 2.0
    jumps: int = 5


@dataclass
class Jump:
    line: int  # 1-based, in the file as it is on disk, where Enter was pressed
    direction: str
    latency_s: float
    source: str
    prompt_tokens: int
    reused_tokens: int
    run_tokens: int
    evaluated_tokens: int
    generated_tokens: int = 0
    prefill_s: float = 0.0
    decode_s: float = 0.0


@dataclass
class Pass:
    name: str
    jumps: list[Jump] = field(default_factory=list)
    rss_mb: float = 0.0


def statement_lines(text: str) -> list[int]:
    """Lines (0-based) where pressing Enter starts a new statement in the same block: code
    inside a block, complete on its line (no bracket left open, none closed from before), not
    followed by a deeper line (which would continue it), not one after which code is
    unreachable."""
    lines = text.split("\n")
    found: list[int] = []
    in_string = False
    depth = 0  # brackets open before the line
    for number, line in enumerate(lines[:-1]):
        quotes = line.count('"""') + line.count("'''")
        if quotes % 2:
            in_string = not in_string
        if in_string or quotes:
            continue
        code = STRING_LITERAL.sub('""', line).split("#")[0]
        opened = depth
        depth = max(
            0,
            depth
            + sum(code.count(each) for each in "([{")
            - sum(code.count(each) for each in ")]}"),
        )
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        following = lines[number + 1]
        if (
            indent
            and opened == depth == 0
            and len(stripped) >= 8
            and not stripped.startswith(("#", "@", '"', "'"))
            and stripped.split()[0] not in BLOCK_ENDS
            and not stripped.endswith(NOT_A_STATEMENT_END)
            and not (following.strip() and len(following) - len(following.lstrip()) > len(indent))
        ):
            found.append(number)
    return found


def jump_plan(text: str, count: int) -> list[tuple[int, str]]:
    """Where each jump presses Enter (0-based lines of `text`) and which way it went: the
    statement line nearest each share of the file in DOWN_AT and UP_AT, in turn, each line
    once."""
    candidates = statement_lines(text)
    if len(candidates) < count:
        raise ValueError(f"{len(candidates)} lines in the file to press Enter after")
    total = text.count("\n") + 1
    plan: list[tuple[int, str]] = []
    for index in range(count):
        shares, direction = (DOWN_AT, "down") if index % 2 == 0 else (UP_AT, "up")
        wanted = shares[(index // 2) % len(shares)] * total
        line = min(candidates, key=lambda line: abs(line - wanted))
        candidates.remove(line)
        plan.append((line, direction))
    return plan


def enter_edit(line_text: str) -> tuple[int, str, int]:
    """Enter at the end of a line, as an editor inserts it: (column where it goes in, the text
    inserted, column of the cursor on the new line), in UTF-16 units."""
    indent = line_text[: len(line_text) - len(line_text.lstrip())]
    return utf16(line_text), "\n" + indent, utf16(indent)


def find_scene(module: str, others: int) -> Scene:
    path = Path(str(importlib.import_module(module).__file__))
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    if lines not in LINES_WANTED:
        raise SystemExit(
            f"{path} has {lines} lines; choose a module of {LINES_WANTED.start}-"
            f"{LINES_WANTED.stop - 1} lines (--module)"
        )
    neighbours = sorted(p for p in path.parent.glob("*.py") if p != path and p.name[0] != "_")
    return Scene(path.parent, path, text, tuple(neighbours[:others]))


async def run_pass(name: str, settings: dict[str, Any], scene: Scene, pacing: Pacing) -> Pass:
    session = LspSession(f"fimble-jumps-{name.replace(' ', '-')}", settings, [scene.folder])
    await session.start()
    result = Pass(name)
    uri = scene.path.as_uri()
    try:
        await session.warm_up((scene.folder / "warm_up.py").as_uri())
        for other in scene.others:
            session.open(other.as_uri(), other.read_text(encoding="utf-8"))
        session.open(uri, scene.text)
        print(f"  {name}: reading for {pacing.read_s:.0f} s", file=sys.stderr, flush=True)
        await asyncio.sleep(pacing.read_s)
        print(f"  {name}: after reading, {await session.totals()}", file=sys.stderr, flush=True)
        lines = scene.text.split("\n")
        for target, direction in jump_plan(scene.text, pacing.jumps):
            await asyncio.sleep(pacing.jump_pause_s)
            # Each earlier Enter above the target moved it down a line.
            line = target + sum(earlier.line - 1 < target for earlier in result.jumps)
            column, inserted, cursor = enter_edit(lines[line])
            session.change(uri, (line, column), inserted)
            lines[line + 1 : line + 1] = [inserted[1:]]
            completion = await session.complete(uri, line + 1, cursor)
            figures = await session.stats()
            result.jumps.append(
                Jump(
                    target + 1,
                    direction,
                    completion.latency_s,
                    figures.source,
                    figures.prompt_tokens,
                    figures.reused_tokens,
                    figures.run_tokens,
                    figures.evaluated_tokens,
                    figures.generated_tokens,
                    figures.prefill_seconds,
                    figures.decode_seconds,
                )
            )
            print(
                f"  {name}: jump {len(result.jumps)} {direction} to line {target + 1}: "
                f"{figures.evaluated_tokens} tokens evaluated in {figures.prefill_seconds:.2f} s, "
                f"{figures.generated_tokens} generated in {figures.decode_seconds:.2f} s, "
                f"answered in {completion.latency_s:.2f} s",
                file=sys.stderr,
                flush=True,
            )
        result.rss_mb = session.rss_mb()
    finally:
        await session.stop()
    return result


@dataclass(frozen=True)
class Summary:
    evaluated_p50: float
    latency_p50_s: float
    latency_p95_s: float


def summarize(jumps: Sequence[Jump]) -> Summary:
    latencies = [jump.latency_s for jump in jumps]
    return Summary(
        statistics.median(float(jump.evaluated_tokens) for jump in jumps),
        statistics.median(latencies),
        percentile(latencies, 0.95),
    )


def times(top: float, bottom: float) -> str:
    return f"{top / bottom:.2f}x" if bottom > 0 else "-"


def report(scene: Scene, pacing: Pacing, fimble: Pass, off: Pass) -> str:
    rows = [
        f"{scene.path} ({len(scene.text.splitlines())} lines) in workspace folder "
        f"{scene.folder}, {len(scene.others)} more documents open; read {pacing.read_s:.0f} s, "
        f"{pacing.jump_pause_s:.0f} s before each jump",
        "",
        "| jump | Enter after line | fimble: evaluated tokens | fimble: latency ms | "
        "caches off: evaluated tokens | caches off: latency ms |",
        "|---|---|---|---|---|---|",
    ]
    for number, (on, without) in enumerate(zip(fimble.jumps, off.jumps, strict=True), 1):
        rows.append(
            f"| {number} {on.direction} | {on.line} | {on.evaluated_tokens} (of "
            f"{on.prompt_tokens}, {on.source}) | {on.latency_s * 1000:.0f} | "
            f"{without.evaluated_tokens} | {without.latency_s * 1000:.0f} |"
        )
    base = summarize(off.jumps)
    rows += [
        "",
        "| pass | evaluated tokens p50 | latency p50 ms | latency p95 ms | "
        "ratio to caches off (tokens p50 / latency p50 / latency p95) | resident set MB |",
        "|---|---|---|---|---|---|",
    ]
    for each in (fimble, off):
        figures = summarize(each.jumps)
        ratios = " / ".join(
            (
                times(figures.evaluated_p50, base.evaluated_p50),
                times(figures.latency_p50_s, base.latency_p50_s),
                times(figures.latency_p95_s, base.latency_p95_s),
            )
        )
        rows.append(
            f"| {each.name} | {figures.evaluated_p50:.0f} | {figures.latency_p50_s * 1000:.0f} | "
            f"{figures.latency_p95_s * 1000:.0f} | {ratios} | {each.rss_mb:.0f} |"
        )
    return "\n".join(rows)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--module", default="click.utils", help="the installed module whose file is jumped in"
    )
    parser.add_argument("--read-s", type=float, default=60.0, help="idle time after opening")
    parser.add_argument("--jump-pause-s", type=float, default=2.0, help="pause before each jump")
    parser.add_argument("--jumps", type=int, default=5)
    parser.add_argument("--others", type=int, default=3, help="neighbouring documents open")
    parser.add_argument(
        "--settings", default="{}", help="fimble settings for the caches-on pass, as JSON"
    )
    parser.add_argument("--json", type=Path, help="write every jump of both passes here")
    args = parser.parse_args(argv)
    if args.jumps < 1:
        parser.error("--jumps must be at least 1")
    if min(args.read_s, args.jump_pause_s, args.others) < 0:
        parser.error("--read-s, --jump-pause-s and --others must not be negative")
    return args


async def main() -> None:
    args = parse_args()
    pacing = Pacing(args.read_s, args.jump_pause_s, args.jumps)
    scene = find_scene(args.module, args.others)
    settings = json.loads(args.settings)
    for each in (settings, CACHES_OFF):
        await check_settings(each)
    fimble = await run_pass("fimble", settings, scene, pacing)
    off = await run_pass("caches off", CACHES_OFF, scene, pacing)
    print(report(scene, pacing, fimble, off))
    if args.json:
        passes = {each.name: [asdict(jump) for jump in each.jumps] for each in (fimble, off)}
        args.json.write_text(json.dumps(passes, indent=1), encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
