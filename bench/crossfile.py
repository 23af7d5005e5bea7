"""Repository-level benchmark: does code from other files make fimble's completed lines right?

Workspace: copies of real pure-Python packages installed in site-packages (not part of this
project), each in its own workspace folder laid out like its repository (`click/click/...`), as
a multi-root editor window holds them. Holes: lines that call a name the file imports from
another file of the same package (resolved the way fimble resolves imports), with the line's
code removed (its indentation kept) and the rest of the package present in the workspace. Every
hole is asked through `fimble serve` over LSP, once per configuration: no cross-file context,
each source alone, all sources. Before each hole the "editor" opens three neighbouring files of
the same directory and edits one line in each (what the recent-regions source sees). Reported:
exact match and edit similarity of the completed line, and p50/p95 latency.

With `--cursor call` the same lines are typed up to the call of the other file's name (the
cursor sits just before it, where an editor would ask while the user writes the line), and the
rest of the line is what must come out.

    python bench/crossfile.py [--holes 30] [--cursor line|call] [--configs "no context,all sources"]
        [--prefix-tokens 1024] [--suffix-tokens 256] [--context-tokens 384]
        [--settings '{"modelPath": "qwen2.5-coder-1.5b"}'] [--answers out.json]
    python bench/crossfile.py --churn    # how often typing those lines changes the snippets
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsp_session import Completion, LspSession

from context.cross_file_context import CrossFileContext
from context.definition_outline import outline
from context.import_resolution import imported_files
from context.workspace_files import WorkspaceScope
from engines.model_files import resolve_model_path
from engines.token_counter import gguf_token_counter
from lsp_server.settings import Settings
from lsp_server.workspace_context import context_options

PACKAGES = ("click", "flask", "h11", "anyio", "docker", "attr", "blinker", "dateutil")
CONFIGS: dict[str, dict[str, int]] = {
    "no context": {"contextTokens": 0},
    "definitions": {"contextDefinitions": 100, "contextRecent": 0, "contextSimilar": 0},
    "recent": {"contextDefinitions": 0, "contextRecent": 100, "contextSimilar": 0},
    "similar": {"contextDefinitions": 0, "contextRecent": 0, "contextSimilar": 100},
    "all sources": {},
}


@dataclass(frozen=True)
class Hole:
    path: Path
    line: int
    indent: str
    expected: str  # the line's code after the cursor
    text: str  # the file with the hole's code removed
    typed: str = ""  # the line's code before the cursor (--cursor call)

    @property
    def column(self) -> int:
        return len(self.indent) + len(self.typed)


def _called_names(line: str) -> set[str]:
    return set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", line))


def find_holes(workspace: Path, package: str, cursor: str = "line") -> list[Hole]:
    holes: list[Hole] = []
    files = sorted((workspace / package / package).rglob("*.py"))
    roots = (workspace / package,)

    def read(path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def listing(directory: Path) -> list[Path]:
        return sorted(directory.iterdir()) if directory.is_dir() else []

    for path in files:
        text = read(path)
        if text is None:
            continue
        own = {name for entry in outline(text, "python") for name in entry.names}
        foreign: set[str] = set()
        for imported in imported_files(text, "python", path, roots, Path.is_file, listing, read):
            source = read(imported.path) or ""
            defined = {name for entry in outline(source, "python") for name in entry.names}
            foreign |= (imported.names & defined) if imported.names else defined
        foreign -= own
        lines = text.split("\n")
        for number, line in enumerate(lines):
            stripped = line.strip()
            if not line.startswith((" ", "\t")) or not 12 <= len(stripped) <= 100:
                continue
            if stripped.startswith(("#", "@", "def ", "class ", '"', "'")) or stripped.endswith(
                ("(", "[", "{", ",", "\\")
            ):
                continue
            if stripped.count("(") != stripped.count(")") or not (
                _called_names(stripped) & foreign
            ):
                continue
            indent = line[: len(line) - len(line.lstrip())]
            typed = ""
            if cursor == "call":
                calls = [
                    found.start()
                    for name in _called_names(stripped) & foreign
                    if (found := re.search(rf"\b{re.escape(name)}\s*\(", stripped))
                ]
                typed = stripped[: min(calls)]
            hole_text = "\n".join([*lines[:number], indent + typed, *lines[number + 1 :]])
            holes.append(Hole(path, number, indent, stripped[len(typed) :], hole_text, typed))
    return holes


def edit_similarity(left: str, right: str) -> float:
    if not left and not right:
        return 1.0
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, 1):
        current = [i]
        for j, b in enumerate(right, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return 1.0 - previous[-1] / max(len(left), len(right))


def touch(session: LspSession, path: Path, text: str, line: int) -> None:
    """An edit that leaves the text as it was (re-types a line's first character)."""
    lines = text.split("\n")
    line = min(line, len(lines) - 1)
    first = lines[line][:1]
    session.change(path.as_uri(), (line, 0), first, (line, len(first)))


def text_after_cursor(completion: Completion, character: int) -> str:
    """The suggestion's text from the cursor on: an item that rewrites text before the
    cursor has that part taken off."""
    if completion.item is None:
        return ""
    start = completion.item.range.start.character if completion.item.range else character
    return completion.text[character - start :]


def neighbours(hole: Hole, count: int = 3) -> list[Path]:
    siblings = sorted(p for p in hole.path.parent.glob("*.py") if p != hole.path)
    if not siblings:
        return []
    start = random.Random(str(hole.path)).randrange(len(siblings))
    return [siblings[(start + i) % len(siblings)] for i in range(min(count, len(siblings)))]


async def ask(session: LspSession, hole: Hole) -> tuple[str, float]:
    """One hole as an editor would meet it: neighbours open and touched, then the request."""
    others = neighbours(hole)
    for other in others:
        text = other.read_text(encoding="utf-8")
        session.open(other.as_uri(), text)
        touch(session, other, text, random.Random(str(other)).randrange(text.count("\n") + 1))
    session.open(hole.path.as_uri(), hole.text)
    try:
        found = await session.complete(hole.path.as_uri(), hole.line, hole.column, invoked=True)
        return text_after_cursor(found, hole.column), found.latency_s
    finally:
        session.close(hole.path.as_uri())
        for other in others:
            session.close(other.as_uri())


async def run_configs(
    configs: dict[str, dict[str, Any]], workspace: Path, holes: list[Hole]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All configurations side by side, one server each, interleaved hole by hole (the
    machine's load then weighs on every configuration alike). Returns the table's rows and every
    answer."""
    folders = sorted(path for path in workspace.iterdir() if path.is_dir())
    sessions = {
        name: LspSession(f"fimble-crossfile-{name.replace(' ', '-')}", options, folders)
        for name, options in configs.items()
    }
    results: dict[str, list[tuple[bool, float, float]]] = {name: [] for name in configs}
    answers: list[dict[str, Any]] = []
    try:
        for session in sessions.values():
            await session.start()
            await session.warm_up((folders[0] / "warm_up.py").as_uri())
        await asyncio.sleep(5)  # background indexing of the workspace
        names = list(configs)
        for index, hole in enumerate(holes):
            order = names[index % len(names) :] + names[: index % len(names)]
            for name in order:
                completion, latency = await ask(sessions[name], hole)
                got = completion.split("\n")[0].strip()
                exact = got == hole.expected
                results[name].append((exact, edit_similarity(got, hole.expected), latency))
                answers.append(
                    {
                        "hole": index + 1,
                        "config": name,
                        "path": str(hole.path.relative_to(workspace)),
                        "line": hole.line + 1,
                        "typed": hole.typed,
                        "expected": hole.expected,
                        "got": got,
                        "latency": latency,
                    }
                )
                print(
                    f"  {index + 1}/{len(holes)} [{name}] {'ok ' if exact else 'no '} "
                    f"sim {results[name][-1][1]:.2f} {latency:5.1f}s",
                    file=sys.stderr,
                    flush=True,
                )
    except (KeyboardInterrupt, asyncio.CancelledError):
        # Stopped early: report the holes every configuration has answered.
        done = min(len(outcomes) for outcomes in results.values())
        print(f"stopped after {done} holes", file=sys.stderr, flush=True)
        results = {name: outcomes[:done] for name, outcomes in results.items()}
        if not done:
            raise
    finally:
        for session in sessions.values():
            await session.stop()
    rows = []
    for name, outcomes in results.items():
        latencies = sorted(latency for _, _, latency in outcomes)
        rows.append(
            {
                "config": name,
                "exact": 100.0 * sum(exact for exact, _, _ in outcomes) / len(outcomes),
                "similarity": 100.0 * statistics.mean(sim for _, sim, _ in outcomes),
                "p50": statistics.median(latencies),
                "p95": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
            }
        )
    return rows, answers


def snippet_churn(workspace: Path, holes: list[Hole]) -> tuple[int, int]:
    """Type each hole's line a character at a time, gathering context (default settings) at
    every keystroke as the server does: (keystrokes, keystrokes that changed the snippets).
    A change moves the prompt's start, so the model evaluates it again."""
    folders = tuple(sorted(path for path in workspace.iterdir() if path.is_dir()))
    context = CrossFileContext(WorkspaceScope(folders))
    while context.index_step(500):
        pass
    count = gguf_token_counter(resolve_model_path(None))
    options = context_options(Settings())
    keystrokes = changed = 0
    for hole in holes:
        lines = hole.text.split("\n")
        before = sum(len(line) + 1 for line in lines[: hole.line]) + len(hole.indent)
        previous = None
        for typed in range(len(hole.expected) + 1):
            lines[hole.line] = hole.indent + hole.expected[:typed]
            text = "\n".join(lines)
            chosen = context.gather(hole.path, text, before + typed, "python", options, count)
            if previous is not None:
                keystrokes += 1
                changed += chosen != previous
            previous = chosen
    return keystrokes, changed


def build_workspace(target: Path) -> list[str]:
    present = []
    for package in PACKAGES:
        try:
            module = importlib.import_module(package)
        except Exception:
            continue
        source = Path(module.__file__ or "").parent
        if source.name != package:
            continue
        shutil.copytree(
            source,
            target / package / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.so"),
        )
        present.append(package)
    return present


def sample_holes(
    workspace: Path, packages: list[str], count: int, seed: int, cursor: str = "line"
) -> list[Hole]:
    per_package = {package: find_holes(workspace, package, cursor) for package in packages}
    rng = random.Random(seed)
    for holes in per_package.values():
        rng.shuffle(holes)
    chosen: list[Hole] = []
    while len(chosen) < count and any(per_package.values()):
        for package in packages:
            if per_package[package] and len(chosen) < count:
                chosen.append(per_package[package].pop())
    return chosen


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--holes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--prefix-tokens", type=int, default=1024)
    parser.add_argument("--suffix-tokens", type=int, default=256)
    parser.add_argument("--context-tokens", type=int, default=384)
    parser.add_argument(
        "--cursor",
        choices=("line", "call"),
        default="line",
        help="line: the hole is the whole line's code (the cursor after its indentation); "
        "call: the line is typed up to the call of the other file's name",
    )
    parser.add_argument(
        "--settings", default="{}", help="more fimble settings for every configuration, as JSON"
    )
    parser.add_argument(
        "--churn",
        action="store_true",
        help="only count how often typing the holes' lines changes the chosen snippets",
    )
    parser.add_argument("--answers", help="write every hole's answer per configuration here (JSON)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.configs.split(",") if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    return args


async def main() -> None:
    args = parse_args()
    common = {
        "prefixTokens": args.prefix_tokens,
        "suffixTokens": args.suffix_tokens,
        "contextTokens": args.context_tokens,
        **json.loads(args.settings),
    }
    with tempfile.TemporaryDirectory(prefix="fimble-crossfile-") as directory:
        workspace = Path(directory).resolve()
        packages = build_workspace(workspace)
        holes = sample_holes(workspace, packages, args.holes, args.seed, args.cursor)
        print(
            f"packages: {', '.join(packages)}; holes: {len(holes)} (seed {args.seed}), "
            f"cursor: {args.cursor}",
            flush=True,
        )
        if args.churn:
            keystrokes, changed = snippet_churn(workspace, holes)
            print(
                f"typing the {len(holes)} holes' lines: {keystrokes} keystrokes, the chosen "
                f"snippets changed on {changed} ({100 * changed / max(1, keystrokes):.1f}%)"
            )
            return
        configs = {name: {**common, **CONFIGS[name]} for name in args.configs.split(",")}
        rows, answers = await run_configs(configs, workspace, holes)
        if args.answers:
            Path(args.answers).write_text(json.dumps(answers, indent=1), encoding="utf-8")
        base = rows[0]
        print("\n| context | exact match | edit similarity | p50 latency | p95 latency |")
        print("|---|---|---|---|---|")
        for row in rows:
            delta = row["exact"] - base["exact"]
            ratio = row["p50"] / base["p50"] if base["p50"] else 0.0
            print(
                f"| {row['config']} | {row['exact']:.1f}% ({delta:+.1f}) | {row['similarity']:.1f} "
                f"| {row['p50']:.2f} s ({ratio:.2f}x) | {row['p95']:.2f} s |"
            )


if __name__ == "__main__":
    asyncio.run(main())
