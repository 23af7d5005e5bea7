"""HumanEval infilling: fimble through its language server, side by side with the raw model.

Why this file exists: fimble's value is everything around the model (what context it shows,
when it stops, how it post-processes). This benchmark measures what an editor user gets by
talking to `fimble serve` over LSP exactly as an editor does, and compares it, on the same
tasks in the same run, with the same model given a plain prefix-suffix-middle prompt and
decoded greedily in this process (the "raw baseline").

Data: `../shared/benchmarks/humaneval-infilling/` beside the project (see its README.md).
A completion passes when `prompt + completion + suffix + "\\n" + test + "\\n" +
f"check({entry_point})"` runs without error in its own subprocess (10 s timeout, temporary
directory).

How the editor side is laid out:
- single- and multi-line tasks (the hole is whole lines): the document is
  `prompt + "\\n" + suffix`, the cursor at column 0 of the empty line the user made for the code;
- random-span tasks: the document is `prompt + suffix`, the cursor at the junction.
The first inline completion item is applied as an editor would (its range, UTF-16 columns).
The server is never told which kind of task it serves.

How the raw baseline is cut (greedy, `max_tokens` 64, or 256 for multi-line):
- single-line: at the first newline (and a newline added, as the hole ends with one);
- multi-line: ORACLE cut, keeping exactly as many lines as the canonical solution has
  (an oracle no editor has);
- random span: at the first newline.

Run from the project root (a full run takes 20+ minutes; --limit for a smoke run):

    python bench/humaneval.py --kind single
    python bench/humaneval.py --kind multi --limit 3 -v
    python bench/humaneval.py --every 5 --json /tmp/humaneval.json
    python bench/humaneval.py --kind single --no-baseline --workspace /tmp/he-ws \
        --settings '{"contextTokens": 0}'
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_session import SERVER_COMMAND, LspSession, item_text
from lsprotocol import types
from paired_stats import percentile

if TYPE_CHECKING:
    from engines.llama_engine import LlamaEngine

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "humaneval-infilling"
TEST_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 120.0
BASELINE_CONTEXT = 4096
LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Kind:
    """One task file and how its tasks are laid out and cut."""

    name: str
    file: str
    default_every: int
    whole_lines: bool
    baseline_max_tokens: int
    baseline_cut: str


KINDS: dict[str, Kind] = {
    "single": Kind("single", "HumanEval-SingleLineInfilling.jsonl.gz", 10, True, 64, "first line"),
    "multi": Kind(
        "multi", "HumanEval-MultiLineInfilling.jsonl.gz", 50, True, 256, "ORACLE line count"
    ),
    "span-light": Kind(
        "span-light", "HumanEval-RandomSpanInfillingLight.jsonl.gz", 1, False, 64, "first newline"
    ),
    "span": Kind("span", "HumanEval-RandomSpanInfilling.jsonl.gz", 10, False, 64, "first newline"),
}
DEFAULT_KINDS = ("single", "multi", "span-light")


@dataclass(frozen=True)
class Task:
    task_id: str
    prompt: str
    suffix: str
    canonical_solution: str
    test: str
    entry_point: str


@dataclass(frozen=True)
class EditorView:
    """The document an editor user would have, and the cursor (UTF-16 columns)."""

    text: str
    position: types.Position


@dataclass
class FimbleOutcome:
    insert_text: str
    replaced: str
    empty: bool
    latency_s: float
    passed: bool
    error: str


@dataclass
class BaselineOutcome:
    raw: str
    completion: str
    seconds: float
    passed: bool
    error: str


@dataclass
class TaskResult:
    kind: str
    task_id: str
    canonical_solution: str
    fimble: FimbleOutcome | None
    baseline: BaselineOutcome | None


# --- tasks and scoring -------------------------------------------------------------------


def load_tasks(kind: Kind) -> list[Task]:
    path = DATA_DIR / kind.file
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        rows = [json.loads(line) for line in stream if line.strip()]
    return [
        Task(
            row["task_id"],
            row["prompt"],
            row["suffix"],
            row["canonical_solution"],
            row["test"],
            row["entry_point"],
        )
        for row in rows
    ]


def select_tasks(tasks: Sequence[Task], every: int, limit: int | None) -> list[Task]:
    chosen = list(tasks[::every])
    return chosen if limit is None else chosen[:limit]


def program_text(task: Task, filled: str) -> str:
    """The scoring program; `filled` is prompt + completion + suffix."""
    return f"{filled}\n{task.test}\ncheck({task.entry_point})"


def run_program(program: str) -> tuple[bool, str]:
    """Run the (untrusted) program in a subprocess; (passed, why it failed)."""
    with tempfile.TemporaryDirectory(prefix="humaneval-") as tmp:
        path = Path(tmp) / "program.py"
        path.write_text(program, encoding="utf-8")
        try:
            result = subprocess.run(
                [sys.executable, "-I", str(path)],
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=TEST_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False, f"timeout after {TEST_TIMEOUT_S:.0f} s"
    if result.returncode == 0:
        return True, ""
    lines = result.stderr.strip().splitlines()
    return False, lines[-1] if lines else f"exit code {result.returncode}"


# --- positions (LSP lines, UTF-16 columns) -----------------------------------------------


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def line_starts(text: str) -> list[int]:
    return [0, *(match.end() for match in LINE_BREAK.finditer(text))]


def position_at(text: str, offset: int) -> types.Position:
    starts = [start for start in line_starts(text) if start <= offset]
    line_start = starts[-1]
    return types.Position(len(starts) - 1, utf16_units(text[line_start:offset]))


def offset_at(text: str, position: types.Position) -> int:
    """Code-point offset of an LSP position; the column is clamped to its line."""
    starts = line_starts(text)
    if position.line >= len(starts):
        return len(text)
    start = starts[position.line]
    found = LINE_BREAK.search(text, start)
    end = found.start() if found else len(text)
    units = 0
    for index in range(start, end):
        if units >= position.character:
            return index
        units += 2 if ord(text[index]) > 0xFFFF else 1
    return end


def editor_view(task: Task, kind: Kind) -> EditorView:
    if kind.whole_lines:
        text = task.prompt + "\n" + task.suffix
        return EditorView(text, types.Position(len(line_starts(task.prompt)) - 1, 0))
    return EditorView(task.prompt + task.suffix, position_at(task.prompt, len(task.prompt)))


def apply_item(view: EditorView, item: types.InlineCompletionItem | None) -> tuple[str, str, str]:
    """(edited document, inserted text, replaced text), as an editor accepting the item."""
    if item is None:
        return view.text, "", ""
    text = item_text(item)
    edit = item.range or types.Range(view.position, view.position)
    start, end = offset_at(view.text, edit.start), offset_at(view.text, edit.end)
    return view.text[:start] + text + view.text[end:], text, view.text[start:end]


# --- fimble over LSP -----------------------------------------------------------------------


class FimbleSession:
    """`fimble serve` over stdio, one fresh document per task; with a workspace folder, the
    documents sit inside it (as a user's do), so that cross-file context is gathered."""

    def __init__(
        self,
        model: str | None,
        verbose: bool,
        settings: dict[str, Any] | None = None,
        workspace: Path | None = None,
    ) -> None:
        chosen = {**({"modelPath": model} if model else {}), **(settings or {})}
        folders = [workspace] if workspace is not None else []
        self.lsp = LspSession("fimble-humaneval", chosen or None, folders, verbose=verbose)
        self._folder = workspace.as_uri() if workspace is not None else "file:///tmp/humaneval"
        self._documents = 0

    async def start(self) -> float:
        """Start and initialize the server; wait until it answers. Returns seconds taken."""
        started = time.perf_counter()
        result = await self.lsp.start()
        check_server_capabilities(result.capabilities)
        await self.lsp.warm_up(f"{self._folder}/warm_up.py")
        return time.perf_counter() - started

    async def complete(
        self, view: EditorView, timeout: float = REQUEST_TIMEOUT_S
    ) -> tuple[types.InlineCompletionItem | None, float]:
        """Open a fresh document, ask for an inline completion, close it."""
        self._documents += 1
        uri = f"{self._folder}/{self._documents}.py"
        self.lsp.open(uri, view.text)
        try:
            where = view.position
            found = await self.lsp.complete(
                uri, where.line, where.character, invoked=True, timeout=timeout
            )
        finally:
            self.lsp.close(uri)
        return found.item, found.latency_s


def check_server_capabilities(capabilities: types.ServerCapabilities) -> None:
    encoding = capabilities.position_encoding
    if encoding not in (None, types.PositionEncodingKind.Utf16):
        raise RuntimeError(f"the server chose position encoding {encoding}, not utf-16")
    if not capabilities.inline_completion_provider:
        raise RuntimeError("the server does not offer textDocument/inlineCompletion")


async def fimble_outcome(session: FimbleSession, task: Task, kind: Kind) -> FimbleOutcome:
    view = editor_view(task, kind)
    error = ""
    try:
        item, latency = await session.complete(view)
    except Exception as failure:  # a timeout or an error answer: the editor shows nothing
        if session.lsp.stopped:
            raise RuntimeError(
                "the server exited:\n" + "\n".join(session.lsp.stderr_tail)
            ) from failure
        item, latency, error = None, REQUEST_TIMEOUT_S, f"request failed: {failure!r}"
    edited, inserted, replaced = apply_item(view, item)
    passed, why = await asyncio.to_thread(run_program, program_text(task, edited))
    return FimbleOutcome(inserted, replaced, not inserted, latency, passed, error or why)


# --- the raw baseline --------------------------------------------------------------------


def load_baseline(model: str | None) -> LlamaEngine:
    from engines.llama_engine import LlamaEngine, LlamaEngineConfig
    from engines.model_files import assemble_embedded_model
    from engines.prompt_cache import PromptCacheConfig

    path = Path(model).expanduser() if model else assemble_embedded_model()
    # Every prompt evaluated in full: KV entries moved from another task's prompt are an
    # approximation the plain baseline must not get (it moved its single-line score from
    # 51.9% to 48.1% on 2026-11-29).
    config = LlamaEngineConfig(
        path,
        n_ctx=BASELINE_CONTEXT,
        n_threads=os.cpu_count() or 1,
        cache=PromptCacheConfig(reuse=False),
        typed_line_after_middle=False,  # the plain PSM prompt
    )
    return LlamaEngine(config)


def wanted_lines(task: Task, kind: Kind) -> int:
    """Lines the baseline keeps: the oracle's count for multi-line, otherwise one."""
    return task.canonical_solution.count("\n") if kind.name == "multi" else 1


def raw_generate(engine: LlamaEngine, task: Task, kind: Kind) -> str:
    """Greedy PSM output, stopped once it has the lines the cut keeps."""
    from engines.completion_engine import FimRequest

    request = FimRequest(
        prefix=task.prompt,
        suffix=task.suffix,
        max_tokens=kind.baseline_max_tokens,
        heal_last_token=False,
    )
    lines = wanted_lines(task, kind)
    pieces: list[str] = []
    stream: Iterator[str] = engine.stream(request, threading.Event())
    try:
        for piece in stream:
            pieces.append(piece)
            if "".join(pieces).count("\n") >= lines:
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return "".join(pieces)


def cut_raw(raw: str, task: Task, kind: Kind) -> str:
    if not kind.whole_lines:
        return raw.split("\n", 1)[0]
    lines = wanted_lines(task, kind)
    parts = raw.split("\n")
    if len(parts) > lines:
        return "\n".join(parts[:lines]) + "\n"
    return raw if raw.endswith("\n") else raw + "\n"


def baseline_outcome(engine: LlamaEngine, task: Task, kind: Kind) -> BaselineOutcome:
    started = time.perf_counter()
    raw = raw_generate(engine, task, kind)
    seconds = time.perf_counter() - started
    completion = cut_raw(raw, task, kind)
    passed, why = run_program(program_text(task, task.prompt + completion + task.suffix))
    return BaselineOutcome(raw, completion, seconds, passed, why)


# --- reporting ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def verdict(passed: bool) -> str:
    return "PASS" if passed else "fail"


def progress_line(index: int, total: int, result: TaskResult, totals: dict[str, int]) -> str:
    parts = [f"[{result.kind} {index}/{total}] {result.task_id}"]
    if result.fimble is not None:
        empty = " (empty)" if result.fimble.empty else ""
        parts.append(
            f"fimble {verdict(result.fimble.passed)}{empty} {result.fimble.latency_s:.2f}s"
        )
    if result.baseline is not None:
        parts.append(f"raw {verdict(result.baseline.passed)} {result.baseline.seconds:.2f}s")
    running = ", ".join(f"{name} {count}/{index}" for name, count in totals.items())
    return " | ".join(parts) + f" | passed so far: {running}"


def detail_lines(result: TaskResult) -> list[str]:
    lines = [f"    canonical: {result.canonical_solution!r}"]
    if result.fimble is not None:
        replaced = f" (replacing {result.fimble.replaced!r})" if result.fimble.replaced else ""
        lines.append(f"    fimble:    {result.fimble.insert_text!r}{replaced}")
        if result.fimble.error:
            lines.append(f"               {result.fimble.error}")
    if result.baseline is not None:
        lines.append(f"    raw cut:   {result.baseline.completion!r}")
        if result.baseline.error:
            lines.append(f"               {result.baseline.error}")
    return lines


def pass_rate(outcomes: Sequence[FimbleOutcome | BaselineOutcome]) -> float:
    return 100.0 * sum(outcome.passed for outcome in outcomes) / len(outcomes)


def summary(kind: Kind, every: int, results: Sequence[TaskResult]) -> dict[str, Any]:
    fimble = [result.fimble for result in results if result.fimble is not None]
    raw = [result.baseline for result in results if result.baseline is not None]
    row: dict[str, Any] = {"kind": kind.name, "tasks": len(results), "every": every}
    if fimble:
        latencies = [outcome.latency_s for outcome in fimble]
        row["fimble_pass_at_1"] = pass_rate(fimble)
        row["fimble_p50_s"] = statistics.median(latencies)
        row["fimble_p95_s"] = percentile(latencies, 0.95)
        row["fimble_empty"] = sum(outcome.empty for outcome in fimble)
        row["fimble_request_errors"] = sum(
            outcome.error.startswith("request failed") for outcome in fimble
        )
    if raw:
        row["baseline_cut"] = kind.baseline_cut
        row["baseline_pass_at_1"] = pass_rate(raw)
        row["baseline_s_per_task"] = statistics.fmean(outcome.seconds for outcome in raw)
    if fimble and raw:
        row["difference_points"] = row["fimble_pass_at_1"] - row["baseline_pass_at_1"]
    return row


def format_cell(row: dict[str, Any], key: str, pattern: str) -> str:
    return pattern.format(row[key]) if key in row else "-"


def table(rows: Sequence[dict[str, Any]]) -> str:
    header = (
        "kind",
        "tasks",
        "fimble pass@1",
        "raw pass@1 (cut)",
        "diff (pts)",
        "fimble p50 / p95",
        "raw s/task",
        "fimble empty",
    )
    body = [
        (
            row["kind"],
            f"{row['tasks']} (every {row['every']})",
            format_cell(row, "fimble_pass_at_1", "{:.1f}%"),
            format_cell(row, "baseline_pass_at_1", "{:.1f}%")
            + (f" ({row['baseline_cut']})" if "baseline_cut" in row else ""),
            format_cell(row, "difference_points", "{:+.1f}"),
            (
                f"{row['fimble_p50_s']:.2f} / {row['fimble_p95_s']:.2f} s"
                if "fimble_p50_s" in row
                else "-"
            ),
            format_cell(row, "baseline_s_per_task", "{:.2f}"),
            format_cell(row, "fimble_empty", "{}"),
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in (header, *body)) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *body)
    )


NOTES = (
    "fimble: `fimble serve` over LSP (stdio), one fresh document per task, first inline "
    "completion item applied at its range; latency = request sent to answer received.",
    "raw: the same model in this process, plain PSM prompt, greedy, no healing. Cuts: single = "
    "first line; multi = ORACLE cut (as many lines as the canonical solution: no editor has "
    "this); span = raw output cut at the first newline. raw s/task = generation time, which "
    "stops once the cut has its lines.",
)


# --- the run -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--kind",
        choices=[*KINDS, "all"],
        default="all",
        help="task file; all = " + ", ".join(DEFAULT_KINDS),
    )
    parser.add_argument(
        "--every",
        type=int,
        help="take every Nth task (default: "
        + ", ".join(f"{kind.name} {kind.default_every}" for kind in KINDS.values())
        + ")",
    )
    parser.add_argument("--limit", type=int, help="only the first K selected tasks (smoke runs)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw baseline")
    parser.add_argument("--no-fimble", action="store_true", help="skip the language server")
    parser.add_argument("--model", help="GGUF model for both (default: the embedded model)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write per-task results here")
    parser.add_argument("--settings", type=json.loads, default={}, help="fimble settings, as JSON")
    parser.add_argument(
        "--workspace",
        type=Path,
        help="a folder (made if missing) that the documents sit in, as the workspace folder",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show every completion")
    args = parser.parse_args(argv)
    if args.every is not None and args.every < 1:
        parser.error("--every must be at least 1")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def chosen_kinds(name: str) -> list[Kind]:
    return [KINDS[each] for each in (DEFAULT_KINDS if name == "all" else (name,))]


async def run_kind(
    kind: Kind,
    tasks: Sequence[Task],
    session: FimbleSession | None,
    engine: LlamaEngine | None,
    verbose: bool,
) -> list[TaskResult]:
    """Each task through fimble, then through the baseline: one after the other, never both."""
    results: list[TaskResult] = []
    totals = {name: 0 for name, used in (("fimble", session), ("raw", engine)) if used}
    for index, task in enumerate(tasks, 1):
        fimble = await fimble_outcome(session, task, kind) if session else None
        baseline = await asyncio.to_thread(baseline_outcome, engine, task, kind) if engine else None
        result = TaskResult(kind.name, task.task_id, task.canonical_solution, fimble, baseline)
        if fimble is not None:
            totals["fimble"] += fimble.passed
        if baseline is not None:
            totals["raw"] += baseline.passed
        log(progress_line(index, len(tasks), result, totals))
        if verbose:
            log("\n".join(detail_lines(result)))
        results.append(result)
    return results


async def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[TaskResult]]:
    kinds = chosen_kinds(args.kind)
    selections = {
        kind.name: select_tasks(load_tasks(kind), args.every or kind.default_every, args.limit)
        for kind in kinds
    }
    session: FimbleSession | None = None
    engine: LlamaEngine | None = None
    rows: list[dict[str, Any]] = []
    everything: list[TaskResult] = []
    try:
        if not args.no_fimble:
            if args.workspace is not None:
                args.workspace.mkdir(parents=True, exist_ok=True)
            session = FimbleSession(args.model, args.verbose, args.settings, args.workspace)
            log(f"starting {shlex.join(SERVER_COMMAND)} ...")
            log(f"fimble ready (model loaded, first answer) in {await session.start():.1f} s")
        if not args.no_baseline:
            started = time.perf_counter()
            engine = await asyncio.to_thread(load_baseline, args.model)
            log(f"raw baseline loaded in {time.perf_counter() - started:.1f} s")
        for kind in kinds:
            results = await run_kind(kind, selections[kind.name], session, engine, args.verbose)
            rows.append(summary(kind, args.every or kind.default_every, results))
            everything.extend(results)
    finally:
        if session is not None:
            await session.lsp.stop()
        if engine is not None:
            engine.close()
    return rows, everything


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(sys.orig_argv if argv is None else ["bench/humaneval.py", *argv])
    rows, results = asyncio.run(run(args))
    print(f"command: {command}")
    print(f"model: {args.model or 'embedded default'}; cpus: {os.cpu_count()}")
    print(table(rows))
    for note in NOTES:
        print(f"- {note}")
    if args.json is not None:
        report = {
            "command": command,
            "summary": rows,
            "tasks": [asdict(result) for result in results],
        }
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"per-task results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
