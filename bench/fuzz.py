"""Protocol fuzzing at scale: tens of thousands of hostile messages to `fimble serve`.

Why this file exists: the fuzz test (tests/e2e/test_fuzz.py) sends a few hundred malformed
messages, one at a time. An editor does worse over a day: it closes a document while a
request for it is on its way, edits while a completion is computed, cancels requests long
answered or never sent, shuts down in the middle of a burst, exits without shutting down, and
writes many requests before reading an answer. This sends the fuzz test's kinds (the same
strategies, bench/hostile_messages.py) and those interleavings, over stdio, to the real server
with the real default model, and counts:

- every request answered with its id (unanswered must be 0; a request is unanswered when no
  answer of its batch arrives for `--guard-s` seconds), and internal errors (-32603) apart;
- crashes (the process ended where no `exit` was sent) and restarts (a new process after each
  `exit`, asked for or not);
- after `shutdown`, what was sent before is still answered and later requests get an error;
  `exit` ends the process within EXIT_GRACE_S, with or without `shutdown`;
- after every `--check-every` cases, a valid request (`def add(a, b):` / `    return `) must
  still get a completion that uses a and b;
- resident memory (VmRSS) of each server process after its warm-up and at its end, against
  the 50 MB growth target.

    python bench/fuzz.py                             # 10,000 messages
    python bench/fuzz.py --messages 300 --batch 50 --json /tmp/fuzz.json
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hostile_messages import (
    CHECK_CURSOR,
    CHECK_TEXT,
    OPEN_URI,
    TARGET,
    Case,
    frame,
    generate_cases,
    notification_body,
    request_body,
)
from lsp_session import LspSession, item_text
from lsprotocol import types
from pygls.exceptions import JsonRpcException

RSS_TARGET_MB = 50.0
EXIT_GRACE_S = 10.0  # `exit` must end the process within this
AFTER_SHUTDOWN_GUARD_S = 10.0  # requests after `shutdown` are owed an error at once
INTERNAL_ERROR = int(types.ErrorCodes.InternalError)
# Where the rare cases come, as a share of the messages other than the batches' (counting
# the batches would bring the later ones back to back); the first process lives until the
# first shutdown, through both batches, so its memory is the long-run figure.
MILESTONES = (
    (0.2, "batch"),
    (0.45, "batch"),
    (0.6, "shutdown in a burst"),
    (0.7, "exit without shutdown"),
    (0.8, "shutdown in a burst"),
    (0.9, "exit without shutdown"),
)
INTERLEAVINGS = ("close while asked", "change while asked", "cancel finished", "cancel unknown")
INTERLEAVING_SHARE = 0.15
BURST_BEFORE, BURST_AFTER = 20, 5
EXAMPLES_KEPT = 5


@dataclass
class ProcessFigures:
    pid: int
    messages: int = 0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    ended_by: str = "end of run"  # or "shutdown and exit", "exit", "crash"
    exit_code: int | None = None
    exit_seconds: float | None = None


@dataclass
class Figures:
    messages: int = 0
    cases: int = 0
    messages_by_kind: Counter[str] = field(default_factory=Counter)
    cases_by_kind: Counter[str] = field(default_factory=Counter)
    seconds_by_kind: dict[str, float] = field(default_factory=dict)  # restarts included
    requests: int = 0
    answered: int = 0
    results: int = 0
    errors: int = 0  # answered with an error other than an internal one
    internal_errors: int = 0
    unanswered: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)
    after_shutdown_requests: int = 0
    after_shutdown_errors: int = 0
    left_by_exit: int = 0  # requests in flight when `exit` was sent: owed nothing
    checks: int = 0
    checks_failed: int = 0
    crashes: int = 0
    restarts: int = 0
    exit_hangs: int = 0
    batch_size: int = 0
    processes: list[ProcessFigures] = field(default_factory=list)
    internal_error_examples: list[str] = field(default_factory=list)
    unanswered_examples: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    generation_s: float = 0.0
    wall_s: float = 0.0
    interrupted: bool = False


@dataclass
class Sent:
    """A request on its way: its id, what it was, and the answer to come."""

    msg_id: str
    kind: str
    future: asyncio.Future[Any]


class CaseSupply:
    """The Hypothesis cases, generated a chunk at a time (the same for the same seed)."""

    CHUNK = 500

    def __init__(self, seed: int, figures: Figures) -> None:
        self.seed, self.figures = seed, figures
        self.chunks = 0
        self.waiting: list[Case] = []

    def next(self, *, request: bool = False) -> Case:
        while True:
            if not self.waiting:
                started = time.perf_counter()
                self.waiting = generate_cases(self.CHUNK, self.seed * 1000 + self.chunks)
                self.figures.generation_s += time.perf_counter() - started
                self.chunks += 1
            case = self.waiting.pop(0)
            if case.request or not request:
                return case


class Target:
    """The server under fuzz: one `fimble serve` at a time, started again after an exit."""

    def __init__(self, args: argparse.Namespace, figures: Figures) -> None:
        self.args, self.figures = args, figures
        self.ids = 0
        self.session: LspSession | None = None
        self.process: ProcessFigures | None = None
        self.exit_sent = False

    @property
    def live(self) -> LspSession:
        assert self.session is not None
        return self.session

    async def start(self) -> None:
        settings = {**json.loads(self.args.settings), "maxTokens": self.args.max_tokens}
        name = f"fimble-fuzz-{len(self.figures.processes)}"
        session = LspSession(name, settings, log_level="ERROR")
        await session.start()
        await session.warm_up("file:///work/fuzz_warm_up.py")
        session.open(OPEN_URI, TARGET)
        self.session, self.exit_sent = session, False
        self.process = ProcessFigures(session.pid or 0, rss_start_mb=session.rss_mb())
        self.figures.processes.append(self.process)

    async def restart(self) -> None:
        await self.live.release()
        self.figures.restarts += 1
        await self.start()

    def write(self, body: bytes, kind: str) -> None:
        writer = self.live.client.protocol.writer
        assert writer is not None
        writer.write(frame(body))
        self.figures.messages += 1
        self.figures.messages_by_kind[kind] += 1
        if self.process is not None:
            self.process.messages += 1

    def notify(self, method: str, params: Any, kind: str) -> None:
        self.write(notification_body(method, params), kind)

    def request(self, method: str, params: Any, kind: str) -> Sent:
        self.ids += 1
        msg_id = f"fuzz-{self.ids}"
        answer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.live.client.protocol._request_futures[msg_id] = answer
        self.write(request_body(method, params, msg_id), kind)
        self.figures.requests += 1
        return Sent(msg_id, kind, asyncio.wrap_future(answer))

    def send_case(self, case: Case, kind: str) -> Sent | None:
        if case.raw:
            self.write(case.raw, kind)
            return None
        if case.request:
            return self.request(case.method, case.params, kind)
        self.notify(case.method, case.params, kind)
        return None

    def crashed(self) -> bool:
        return not self.exit_sent and self.live.exit_code is not None

    def rss_mb(self) -> float:
        return self.live.rss_mb()


def inline_params(uri: str, line: int, character: int, trigger: int = 1) -> dict[str, Any]:
    return {
        "textDocument": {"uri": uri},
        "position": {"line": line, "character": character},
        "context": {"triggerKind": trigger},
    }


def open_params(uri: str, text: str, version: int = 1) -> dict[str, Any]:
    return {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}}


def close_params(uri: str) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}}


async def settle(sent: Iterable[Sent], figures: Figures, guard_s: float) -> dict[str, str]:
    """Wait for the answers; one that does not come while no other of these arrives for
    `guard_s` seconds is unanswered. Returns each id's outcome."""
    waiting = {each.future: each for each in sent}
    outcomes: dict[str, str] = {}
    while waiting:
        done, _ = await asyncio.wait(waiting, timeout=guard_s, return_when="FIRST_COMPLETED")
        if not done:
            break
        for future in done:
            outcomes[waiting.pop(future).msg_id] = classify(future, figures)
    for future, each in waiting.items():
        future.cancel()
        figures.unanswered += 1
        outcomes[each.msg_id] = "unanswered"
        if len(figures.unanswered_examples) < EXAMPLES_KEPT:
            figures.unanswered_examples.append(f"{each.msg_id} ({each.kind})")
    return outcomes


def classify(future: asyncio.Future[Any], figures: Figures) -> str:
    figures.answered += 1
    error = future.exception() if not future.cancelled() else None
    if error is None:
        figures.results += 1
        return "result"
    code = error.code if isinstance(error, JsonRpcException) else None
    figures.error_codes[str(code)] += 1
    if code == INTERNAL_ERROR:
        figures.internal_errors += 1
        if len(figures.internal_error_examples) < EXAMPLES_KEPT:
            figures.internal_error_examples.append(str(error)[:200])
        return "internal error"
    figures.errors += 1
    return "error"


async def single(target: Target, supply: CaseSupply, guard_s: float) -> None:
    case = supply.next()
    kind = case.kind
    target.figures.cases_by_kind[kind] += 1
    sent = target.send_case(case, kind)
    if sent is not None:
        await settle([sent], target.figures, guard_s)


async def close_while_asked(target: Target, number: int, guard_s: float) -> None:
    """didClose right after the request for the document, before its answer."""
    kind = "close while asked"
    uri = f"file:///work/fuzz_race_{number}.py"
    target.notify("textDocument/didOpen", open_params(uri, CHECK_TEXT), kind)
    sent = target.request("textDocument/inlineCompletion", inline_params(uri, *CHECK_CURSOR), kind)
    target.notify("textDocument/didClose", close_params(uri), kind)
    await settle([sent], target.figures, guard_s)


def racing_change(uri: str, rng: random.Random) -> dict[str, Any]:
    """An edit sent while a request is computed: typed at the cursor, the whole text
    replaced, or a range past the end."""
    line, character = CHECK_CURSOR
    ranges = {
        "typed": ((line, character), (line, character)),
        "past the end": ((line + 40, 0), (line + 99, 7)),
    }
    choice = rng.choice(["typed", "whole", "past the end"])
    if choice == "whole":
        change: dict[str, Any] = {"text": "def add(a, b):\n    return a\n"}
    else:
        (sl, sc), (el, ec) = ranges[choice]
        span = {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}
        change = {"range": span, "text": rng.choice(["a", "x + ", "\n", ""])}
    return {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]}


async def change_while_asked(
    target: Target, number: int, rng: random.Random, guard_s: float
) -> None:
    kind = "change while asked"
    uri = f"file:///work/fuzz_race_{number}.py"
    target.notify("textDocument/didOpen", open_params(uri, CHECK_TEXT), kind)
    params = inline_params(uri, *CHECK_CURSOR, trigger=rng.choice([1, 2]))
    sent = target.request("textDocument/inlineCompletion", params, kind)
    target.notify("textDocument/didChange", racing_change(uri, rng), kind)
    await settle([sent], target.figures, guard_s)
    target.notify("textDocument/didClose", close_params(uri), kind)


async def cancel_finished(target: Target, number: int, guard_s: float) -> None:
    """$/cancelRequest for a request already answered, twice."""
    kind = "cancel finished"
    uri = f"file:///work/fuzz_race_{number}.py"
    target.notify("textDocument/didOpen", open_params(uri, CHECK_TEXT), kind)
    sent = target.request("textDocument/inlineCompletion", inline_params(uri, *CHECK_CURSOR), kind)
    await settle([sent], target.figures, guard_s)
    for _ in range(2):
        target.notify("$/cancelRequest", {"id": sent.msg_id}, kind)
    target.notify("textDocument/didClose", close_params(uri), kind)


def cancel_unknown(target: Target, rng: random.Random) -> None:
    """$/cancelRequest for ids never sent: numbers, strings, ids still to come."""
    kind = "cancel unknown"
    ids: list[Any] = [
        rng.randint(-(2**31), 2**31),
        f"fuzz-never-{rng.randint(0, 10**9)}",
        f"fuzz-{target.ids + rng.randint(1, 5000)}",
    ]
    for msg_id in rng.sample(ids, rng.randint(1, len(ids))):
        target.notify("$/cancelRequest", {"id": msg_id}, kind)


async def batch(target: Target, supply: CaseSupply, size: int, guard_s: float) -> None:
    """`size` requests written at once, no answer read meanwhile; all must be answered."""
    kind = "batch"
    sent = [target.request(each.method, each.params, kind) for each in _requests(supply, size)]
    await settle(sent, target.figures, guard_s)


def _requests(supply: CaseSupply, count: int) -> list[Case]:
    return [supply.next(request=True) for _ in range(count)]


async def shutdown_in_a_burst(target: Target, supply: CaseSupply, guard_s: float) -> None:
    """Requests, `shutdown`, more requests, all written at once; then `exit`. What came
    before the shutdown is owed its answer, what came after an error."""
    kind = "shutdown in a burst"
    figures = target.figures
    before = [target.request(c.method, c.params, kind) for c in _requests(supply, BURST_BEFORE)]
    shutdown = target.request("shutdown", None, kind)
    after = [target.request(c.method, c.params, kind) for c in _requests(supply, BURST_AFTER)]
    await settle([*before, shutdown], figures, guard_s)
    outcomes = await settle(after, figures, AFTER_SHUTDOWN_GUARD_S)
    figures.after_shutdown_requests += len(after)
    figures.after_shutdown_errors += sum(outcome == "error" for outcome in outcomes.values())
    await exit_and_restart(target, "shutdown and exit")


async def exit_without_shutdown(target: Target) -> None:
    """`exit` while a request is computed, no `shutdown` before."""
    kind = "exit without shutdown"
    left = target.request("textDocument/inlineCompletion", inline_params(OPEN_URI, 4, 16), kind)
    left.future.add_done_callback(lambda future: future.cancelled() or future.exception())
    target.figures.left_by_exit += 1
    await exit_and_restart(target, "exit")


async def exit_and_restart(target: Target, ended_by: str) -> None:
    kind = "shutdown in a burst" if ended_by == "shutdown and exit" else "exit without shutdown"
    process = target.process
    assert process is not None
    process.rss_end_mb = target.rss_mb()
    target.exit_sent = True
    started = time.perf_counter()
    target.notify("exit", None, kind)
    process.exit_code = await target.live.ended(EXIT_GRACE_S)
    process.exit_seconds = time.perf_counter() - started
    process.ended_by = ended_by
    if process.exit_code is None:
        target.figures.exit_hangs += 1
    await target.restart()


async def check(target: Target, number: int, guard_s: float) -> None:
    """The valid request: its answer must use both parameters."""
    figures = target.figures
    figures.checks += 1
    uri = f"file:///work/fuzz_check_{number}.py"
    session = target.live
    session.open(uri, CHECK_TEXT)
    try:
        completion = await session.complete(uri, *CHECK_CURSOR, invoked=True, timeout=guard_s)
        text = "" if completion.item is None else item_text(completion.item)
    except (TimeoutError, JsonRpcException) as error:
        text = f"({type(error).__name__}: {error})"
    session.close(uri)
    session.open(OPEN_URI, TARGET)  # the cases may have closed or mangled it
    if not ("a" in text and "b" in text):
        figures.checks_failed += 1
        if len(figures.failed_checks) < EXAMPLES_KEPT:
            figures.failed_checks.append(f"after case {number}: {text!r}")


async def one_case(
    target: Target, supply: CaseSupply, number: int, rng: random.Random, milestone: str | None
) -> None:
    args, figures = target.args, target.figures
    guard_s = args.guard_s
    kind = milestone or (
        rng.choice(INTERLEAVINGS) if rng.random() < INTERLEAVING_SHARE else "single"
    )
    if kind != "single":
        figures.cases_by_kind[kind] += 1
    if kind == "single":
        await single(target, supply, guard_s)
    elif kind == "close while asked":
        await close_while_asked(target, number, guard_s)
    elif kind == "change while asked":
        await change_while_asked(target, number, rng, guard_s)
    elif kind == "cancel finished":
        await cancel_finished(target, number, guard_s)
    elif kind == "cancel unknown":
        cancel_unknown(target, rng)
    elif kind == "batch":
        await batch(target, supply, figures.batch_size, guard_s)
    elif kind == "shutdown in a burst":
        await shutdown_in_a_burst(target, supply, guard_s)
    else:
        await exit_without_shutdown(target)


async def run(args: argparse.Namespace) -> Figures:
    figures = Figures(batch_size=min(args.batch, max(1, args.messages // 3)))
    rng = random.Random(args.seed)
    supply = CaseSupply(args.seed, figures)
    target = Target(args, figures)
    batches = sum(kind == "batch" for _, kind in MILESTONES)
    others = max(args.messages - batches * figures.batch_size, 1)
    milestones = [(int(share * others), kind) for share, kind in MILESTONES]
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    await target.start()
    try:
        while figures.messages < args.messages:
            due = (
                milestones.pop(0)[1]
                if milestones and others_sent(figures) >= milestones[0][0]
                else None
            )
            started = time.perf_counter()
            await one_case(target, supply, figures.cases, rng, due)
            spent(figures, due or "single or interleaving", started)
            figures.cases += 1
            if target.crashed():
                figures.crashes += 1
                assert target.process is not None
                target.process.ended_by, target.process.exit_code = "crash", target.live.exit_code
                await target.restart()
            if figures.cases % args.check_every == 0:
                started = time.perf_counter()
                await check(target, figures.cases, args.guard_s)
                spent(figures, "checks", started)
            if args.verbose and figures.cases % 100 == 0:
                print(progress(figures, target), flush=True)
        await check(target, figures.cases, args.guard_s)
    except asyncio.CancelledError:  # interrupted (SIGTERM/^C): report what was measured
        figures.interrupted = True
        print("interrupted: partial figures", flush=True)
    finally:
        if target.process is not None and target.session is not None:
            target.process.rss_end_mb = target.rss_mb()
            await target.session.stop()
    return figures


def others_sent(figures: Figures) -> int:
    return figures.messages - figures.messages_by_kind["batch"]


def spent(figures: Figures, kind: str, started: float) -> None:
    elapsed = time.perf_counter() - started
    figures.seconds_by_kind[kind] = figures.seconds_by_kind.get(kind, 0.0) + elapsed


def progress(figures: Figures, target: Target) -> str:
    return (
        f"  {figures.cases} cases, {figures.messages} messages, {figures.requests} requests, "
        f"{figures.unanswered} unanswered, {figures.internal_errors} internal errors, "
        f"rss {target.rss_mb():.1f} MB"
    )


def report(figures: Figures) -> str:
    first = figures.processes[0]
    growths = [p.rss_end_mb - p.rss_start_mb for p in figures.processes]
    exits = [p.exit_seconds for p in figures.processes if p.exit_seconds is not None]
    rows = [
        ("figure", "measured", "target"),
        ("messages sent", f"{figures.messages:,}", "-"),
        ("cases", f"{figures.cases:,}", "-"),
        ("requests sent", f"{figures.requests:,}", "-"),
        ("answered with their id", f"{figures.answered:,}", "all owed"),
        ("  results", f"{figures.results:,}", "-"),
        ("  errors (not internal)", f"{figures.errors:,}", "-"),
        ("  internal errors (-32603)", str(figures.internal_errors), "0"),
        ("unanswered", str(figures.unanswered), "0"),
        ("left in flight by exit (owed nothing)", str(figures.left_by_exit), "-"),
        (
            "requests after shutdown: errors / sent",
            f"{figures.after_shutdown_errors} / {figures.after_shutdown_requests}",
            "all",
        ),
        ("crashes", str(figures.crashes), "0"),
        ("restarts (after exit)", str(figures.restarts), "-"),
        (
            "exit hangs / slowest exit (s)",
            f"{figures.exit_hangs} / {max(exits, default=0):.2f}",
            "0",
        ),
        ("valid checks failed / run", f"{figures.checks_failed} / {figures.checks}", "0"),
        ("batch size", f"{figures.batch_size:,}", "-"),
        (
            f"RSS first process start / end (MB, {first.messages:,} messages)",
            f"{first.rss_start_mb:.1f} / {first.rss_end_mb:.1f}",
            "-",
        ),
        ("RSS growth first process (MB)", f"{growths[0]:+.1f}", f"< {RSS_TARGET_MB:.0f}"),
        (
            "RSS growth largest of any process (MB)",
            f"{max(growths):+.1f}",
            f"< {RSS_TARGET_MB:.0f}",
        ),
        ("case generation (s)", f"{figures.generation_s:.0f}", "-"),
        ("wall time (s)", f"{figures.wall_s:.0f}", "-"),
    ]
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    table = "\n".join(
        "  ".join(cell.ljust(size) for cell, size in zip(row, width, strict=True)) for row in rows
    )
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in figures.messages_by_kind.most_common())
    codes = ", ".join(f"{code} {count:,}" for code, count in figures.error_codes.most_common())
    by_time = sorted(figures.seconds_by_kind.items(), key=lambda item: -item[1])
    seconds = ", ".join(f"{kind} {spent:.0f}" for kind, spent in by_time)
    details = [
        f"messages by kind: {kinds}",
        f"error codes: {codes}",
        f"seconds by kind: {seconds}",
    ]
    for label, examples in (
        ("internal errors", figures.internal_error_examples),
        ("unanswered", figures.unanswered_examples),
        ("failed checks", figures.failed_checks),
    ):
        if examples:
            details.append(f"{label} (first {len(examples)}): {'; '.join(examples)}")
    if figures.interrupted:
        details.insert(0, "INTERRUPTED: partial figures (the run was stopped)")
    return table + "\n" + "\n".join(details)


def failed(figures: Figures) -> bool:
    return bool(
        figures.unanswered
        or figures.internal_errors
        or figures.crashes
        or figures.exit_hangs
        or figures.checks_failed
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="hostile messages to send")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=8, help="the server's maxTokens")
    parser.add_argument("--settings", default="{}", help="other fimble settings, as JSON")
    parser.add_argument("--batch", type=int, default=1000, help="requests per unread batch")
    parser.add_argument("--check-every", type=int, default=100, help="cases between checks")
    parser.add_argument(
        "--guard-s", type=float, default=300.0, help="no answer this long: unanswered"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if min(args.messages, args.batch, args.check_every, args.max_tokens) < 1:
        parser.error("--messages, --batch, --check-every and --max-tokens must be at least 1")
    if args.guard_s <= 0:
        parser.error("--guard-s must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    figures = asyncio.run(run(args))
    figures.wall_s = time.perf_counter() - started
    print(report(figures))
    if args.json:
        found = {**vars(figures), "processes": [asdict(each) for each in figures.processes]}
        args.json.write_text(json.dumps(found, indent=1), encoding="utf-8")
    return 1 if failed(figures) else 0


if __name__ == "__main__":
    sys.exit(main())
