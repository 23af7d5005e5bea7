"""Repository-level benchmark: does code from other files make fimble's completed lines right?

Workspace: copies of real packages, none written for fimble, each in its own workspace folder
as a multi-root editor window holds them: eight pure-Python packages from site-packages
(`click/click/...`), and for TypeScript/JavaScript eight npm packages fetched with `npm pack` at
bench time (pinned versions; only their source folders, no bundles). Holes are chosen the
CrossCodeEval way: an indented line that uses a name defined in another file of the same
package (imported by the file, resolved the way fimble resolves imports) and not defined in the
file itself; `X.member` counts where X is a module of the package the file binds. The line's
code is removed (its indentation kept) and the rest of the package stays in the workspace.
Every hole is asked through `fimble serve` over LSP, once per configuration: no cross-file
context, each source alone, all sources (each with 384 tokens of context unless
`--context-tokens` or the configuration says otherwise), and "model default" (contextTokens
-1: the budget measured for the model, fimble's default; none for the 0.5B). Before each hole
the "editor" opens three neighbouring files of the same directory and edits one line in each
(what the recent-regions source sees).

Reported per configuration: exact match and edit similarity of the completed line, identifier
precision and recall (the identifiers of the suggested line against the expected line's, mean
over holes), the paired difference against the first configuration (no context) with a 95%
bootstrap interval (holes resampled, 2,000 times, fixed seed), holes won and lost on exact
match, and p50/p95 latency with their ratios. Python holes whose line writes `X.member` of a
workspace module X are the member-access subset: its exact match and the share of suggestions
whose first member after `X.` is not a name of that module.

With `--cursor call` the same lines are typed up to the first use of the other file's name
(after `X.` for a member access: where fimble keeps the member to real names), and the rest of
the line is what must come out.

    python bench/crossfile.py [--language python|js|both] [--holes N | --fast] [--repeat 2]
        [--member-access]
        [--cursor line|call] [--configs "no context,all sources"]
        [--prefix-tokens 1024] [--suffix-tokens 256] [--context-tokens 384]
        [--settings '{"modelPath": "qwen2.5-coder-1.5b"}'] [--answers out.json]
    (SIGTERM, like Ctrl-C, stops a run and reports the holes every configuration answered)
    python bench/crossfile.py --churn    # how often typing those lines changes the snippets
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import io
import json
import keyword
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsp_session import Completion, LspSession
from paired_stats import paired_bootstrap, percentile

from context.cross_file_context import CrossFileContext
from context.definition_outline import outline
from context.import_resolution import imported_files
from context.member_names import python_module_members
from context.workspace_files import WorkspaceScope
from engines.model_catalog import DEFAULT_CONTEXT_TOKENS
from engines.model_files import resolve_model_path
from engines.token_counter import gguf_token_counter
from lsp_server.settings import Settings
from lsp_server.workspace_context import context_options

PY_PACKAGES = ("click", "flask", "h11", "anyio", "docker", "attr", "blinker", "dateutil")
# npm packages whose published sources are readable files that import each other, and the
# folders of each that hold those sources (bundles, minified files and `dist/` left out).
NPM_PACKAGES: dict[str, tuple[str, ...]] = {
    "express@4.21.2": ("lib",),
    "commander@12.1.0": ("lib",),
    "ws@8.18.0": ("lib",),
    "semver@7.6.3": ("classes", "functions", "internal", "ranges"),
    "axios@1.7.9": ("lib",),
    "ajv@8.17.1": ("lib",),  # TypeScript sources
    "undici@6.21.0": ("lib",),
    "yargs@17.7.2": ("build/lib",),
}
LANGUAGES = ("python", "js")
DEFAULT_HOLES = {"python": 200, "js": 100}
FAST_HOLES = 40
FAST_CONFIGS = "no context,all sources"
CONFIGS: dict[str, dict[str, int]] = {
    "no context": {"contextTokens": 0},
    "definitions": {"contextDefinitions": 100, "contextRecent": 0, "contextSimilar": 0},
    "recent": {"contextDefinitions": 0, "contextRecent": 100, "contextSimilar": 0},
    "similar": {"contextDefinitions": 0, "contextRecent": 0, "contextSimilar": 100},
    "all sources": {},
    "model default": {"contextTokens": -1},  # the budget measured for the model
}
_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".ts")
_JS_KEYWORDS = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "let",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "undefined",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "async",
        "await",
        "of",
        "static",
        "get",
        "set",
        "interface",
        "type",
        "enum",
        "implements",
        "private",
        "public",
        "protected",
        "readonly",
        "as",
    ]
)
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_FREE_NAME = re.compile(r"(?<![\w$.])[A-Za-z_$][\w$]*")
_JS_STRING = r"""\s*['"](\.[^'"]*)['"]"""
_JS_REQUIRE_MODULE = re.compile(
    rf"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*require\({_JS_STRING}\s*\)"
)
_JS_REQUIRE_NAMES = re.compile(rf"\b(?:const|let|var)\s*\{{([^}}]*)\}}\s*=\s*require\({_JS_STRING}")
_JS_IMPORT_NAMESPACE = re.compile(rf"\bimport\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from{_JS_STRING}")
_JS_IMPORT = re.compile(
    rf"\bimport\s+(?:type\s+)?([A-Za-z_$][\w$]*)?\s*,?\s*(?:\{{([^}}]*)\}})?\s*from{_JS_STRING}"
)
_JS_BLOCK = re.compile(r"/\*.*?\*/|`[^`]*`", re.DOTALL)
_JS_EXPORTS = re.compile(r"^\s*(?:module\.)?exports\.([A-Za-z_$][\w$]*)\s*=", re.MULTILINE)


@dataclass(frozen=True)
class Hole:
    path: Path
    line: int
    indent: str
    expected: str  # the line's code after the cursor
    text: str  # the file with the hole's code removed
    typed: str = ""  # the line's code before the cursor (--cursor call)
    language: str = "python"  # the LSP language id
    owner: str = ""  # X where the line writes `X.member` of a workspace module X
    owner_members: frozenset[str] = frozenset()  # the names module X binds

    @property
    def column(self) -> int:
        return len(self.indent) + len(self.typed)

    @property
    def member_access(self) -> bool:
        return bool(self.owner)


@dataclass(frozen=True)
class ForeignNames:
    """What a file uses from other files of its package: names imported from them, and the
    modules it binds (name -> the module's top-level names)."""

    names: frozenset[str]
    modules: dict[str, frozenset[str]]


def language_of(path: Path) -> str:
    if path.suffix == ".py":
        return "python"
    return "typescript" if path.suffix == ".ts" else "javascript"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _outline_names(text: str, language: str) -> set[str]:
    return {name for entry in outline(text, language) for name in entry.names}


def python_foreign_names(text: str, path: Path, root: Path) -> ForeignNames:
    def listing(directory: Path) -> list[Path]:
        return sorted(directory.iterdir()) if directory.is_dir() else []

    own = _outline_names(text, "python")
    names: set[str] = set()
    modules: dict[str, frozenset[str]] = {}
    for imported in imported_files(text, "python", path, (root,), Path.is_file, listing, _read):
        source = _read(imported.path) or ""
        if imported.bound_as:
            members = python_module_members(source)
            if members and imported.bound_as not in own:
                modules[imported.bound_as] = members
            continue
        defined = _outline_names(source, "python")
        names |= (imported.names & defined) if imported.names else defined
    return ForeignNames(frozenset(names - own), modules)


def resolve_js(specifier: str, current: Path) -> Path | None:
    """A relative import's file, by Node's and TypeScript's lookup (`./x`, `./x.js` for
    `x.ts`, `./dir` for `dir/index.js`)."""
    target = Path(os.path.normpath(current.parent / specifier))
    stem = target.with_suffix("") if target.suffix in _JS_SUFFIXES else target
    candidates = [target, *(stem.with_name(stem.name + suffix) for suffix in _JS_SUFFIXES)]
    candidates += [target / f"index{suffix}" for suffix in _JS_SUFFIXES]
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def _js_defined(path: Path) -> frozenset[str]:
    source = _read(path) or ""
    return frozenset(_outline_names(source, language_of(path)) | set(_JS_EXPORTS.findall(source)))


def _js_listed(names: str) -> dict[str, str]:
    """`a, b as c, type d` (or `a, b: c` destructured): each local name, and the name the
    other file defines it by."""
    listed = {}
    for part in names.split(","):
        words = [word for word in _IDENTIFIER.findall(part) if word != "type"]
        if words:
            listed[words[-1]] = words[0]
    return listed


def _js_imported(listed: str, target: Path | None) -> set[str]:
    """The local names of `listed` that the target file defines."""
    defined = _js_defined(target) if target is not None else frozenset()
    return {local for local, name in _js_listed(listed).items() if name in defined}


def js_foreign_names(text: str, path: Path) -> ForeignNames:
    names: set[str] = set()
    modules: dict[str, frozenset[str]] = {}
    bound: set[str] = set()
    for pattern in (_JS_REQUIRE_MODULE, _JS_IMPORT_NAMESPACE):
        for binding, specifier in pattern.findall(text):
            target = resolve_js(specifier, path)
            bound.add(binding)
            if target is not None:
                defined = _js_defined(target)
                modules[binding] = defined
                if binding in defined:  # `const Route = require('./route')`: the class itself
                    names.add(binding)
    for listed, specifier in _JS_REQUIRE_NAMES.findall(text):
        bound |= set(_js_listed(listed))
        names |= _js_imported(listed, resolve_js(specifier, path))
    for default, listed, specifier in _JS_IMPORT.findall(text):
        target = resolve_js(specifier, path)
        bound |= set(_js_listed(listed)) | ({default} if default else set())
        names |= _js_imported(listed, target)
        if default and target is not None:
            names.add(default)
    own = _outline_names(text, language_of(path)) - bound
    return ForeignNames(frozenset(names - own), {k: v for k, v in modules.items() if k not in own})


def foreign_uses(line: str, foreign: ForeignNames) -> list[tuple[int, str]]:
    """Where the line uses another file's name: (the cursor column that would precede the name,
    the module X when the use is `X.member`, else "")."""
    uses = []
    for found in _FREE_NAME.finditer(line):
        name = found.group(0)
        member = re.match(r"\s*\.\s*([A-Za-z_$][\w$]*)", line[found.end() :])
        if name in foreign.modules and member and member.group(1) in foreign.modules[name]:
            uses.append((found.end() + member.start(1), name))
        elif name in foreign.names:
            uses.append((found.start(), ""))
    return uses


def _hole_line(stripped: str, language: str) -> bool:
    """An ordinary statement line of a readable size, not a header, comment or import."""
    if not 12 <= len(stripped) <= 100 or stripped.endswith(("(", "[", "{", ",", "\\")):
        return False
    if stripped.count("(") != stripped.count(")"):
        return False
    if language == "python":
        return not stripped.startswith(("#", "@", "def ", "class ", '"', "'", "import ", "from "))
    return not stripped.startswith(("//", "/*", "*", "import ", "export ", "'", '"', "`")) and (
        "require(" not in stripped
    )


def _lines_in_text(text: str, language: str) -> set[int]:
    """The lines (0-based) a multi-line string, docstring or block comment covers."""
    spans: list[tuple[int, int]] = []
    if language == "python":
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError):
            return set(range(text.count("\n") + 1))
        spans = [(t.start[0] - 1, t.end[0] - 1) for t in tokens if t.type == tokenize.STRING]
    else:
        for found in _JS_BLOCK.finditer(text):
            first = text.count("\n", 0, found.start())
            spans.append((first, first + found.group(0).count("\n")))
    return {row for first, last in spans if last > first for row in range(first, last + 1)}


def holes_in_file(path: Path, text: str, foreign: ForeignNames, cursor: str) -> list[Hole]:
    language = language_of(path)
    holes = []
    lines = text.split("\n")
    in_text = _lines_in_text(text, language)
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not line.startswith((" ", "\t")) or not _hole_line(stripped, language):
            continue
        if number in in_text:
            continue
        uses = foreign_uses(stripped, foreign)
        if not uses:
            continue
        owner = next((module for _, module in uses if module), "")
        members = foreign.modules[owner] if owner else frozenset()
        indent = line[: len(line) - len(line.lstrip())]
        typed = stripped[: uses[0][0]] if cursor == "call" else ""
        hole_text = "\n".join([*lines[:number], indent + typed, *lines[number + 1 :]])
        expected = stripped[len(typed) :]
        holes.append(
            Hole(path, number, indent, expected, hole_text, typed, language, owner, members)
        )
    return holes


def find_holes(workspace: Path, package: str, cursor: str = "line") -> list[Hole]:
    """Python holes of one package (its workspace folder `workspace/package`)."""
    root = workspace / package
    holes: list[Hole] = []
    for path in sorted((root / package).rglob("*.py")):
        text = _read(path)
        if text is not None:
            holes += holes_in_file(path, text, python_foreign_names(text, path, root), cursor)
    return holes


def find_js_holes(workspace: Path, package: str, cursor: str = "line") -> list[Hole]:
    """TypeScript/JavaScript holes of one package (its workspace folder `workspace/package`)."""
    holes: list[Hole] = []
    for path in sorted((workspace / package).rglob("*")):
        if path.suffix not in _JS_SUFFIXES or path.name.endswith((".d.ts", ".min.js")):
            continue
        text = _read(path)
        if text is not None:
            holes += holes_in_file(path, text, js_foreign_names(text, path), cursor)
    return holes


def identifiers(line: str, language: str) -> set[str]:
    """The identifiers a line of code names, keywords left out (string contents are not
    told apart: a word in a string counts)."""
    words = set(_IDENTIFIER.findall(line))
    reserved = set(keyword.kwlist) | {"self"} if language == "python" else _JS_KEYWORDS
    return words - reserved


def identifier_match(expected: str, got: str, language: str) -> tuple[float, float]:
    """Precision and recall of the suggested line's identifiers against the expected line's
    (an empty set against an empty set is a full match)."""
    wanted, written = identifiers(expected, language), identifiers(got, language)
    common = len(wanted & written)
    precision = common / len(written) if written else float(not wanted)
    recall = common / len(wanted) if wanted else float(not written)
    return precision, recall


def first_member(line: str, owner: str) -> str | None:
    """The member a line writes first after `owner.` (None: it writes no `owner.`)."""
    found = re.search(rf"(?<![\w$.]){re.escape(owner)}\s*\.\s*([A-Za-z_$][\w$]*)", line)
    return found.group(1) if found else None


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
    siblings = sorted(p for p in hole.path.parent.glob(f"*{hole.path.suffix}") if p != hole.path)
    if not siblings:
        return []
    start = random.Random(str(hole.path)).randrange(len(siblings))
    return [siblings[(start + i) % len(siblings)] for i in range(min(count, len(siblings)))]


async def ask(session: LspSession, hole: Hole) -> tuple[str, float]:
    """One hole as an editor would meet it: neighbours open and touched, then the request."""
    others = neighbours(hole)
    for other in others:
        text = other.read_text(encoding="utf-8")
        session.open(other.as_uri(), text, language_of(other))
        touch(session, other, text, random.Random(str(other)).randrange(text.count("\n") + 1))
    session.open(hole.path.as_uri(), hole.text, hole.language)
    try:
        found = await session.complete(hole.path.as_uri(), hole.line, hole.column, invoked=True)
        return text_after_cursor(found, hole.column), found.latency_s
    finally:
        session.close(hole.path.as_uri())
        for other in others:
            session.close(other.as_uri())


@dataclass(frozen=True)
class Outcome:
    """One configuration's answer to one hole, scored."""

    got: str
    exact: bool
    similarity: float
    precision: float
    recall: float
    latency: float
    member_access: bool = False
    member: str | None = None  # member-access holes: the first member written after `X.`
    invented_member: bool = False  # that member is not a name of the module


def score(hole: Hole, got: str, latency: float) -> Outcome:
    precision, recall = identifier_match(hole.expected, got, hole.language)
    member = first_member(hole.typed + got, hole.owner) if hole.member_access else None
    return Outcome(
        got,
        got == hole.expected,
        edit_similarity(got, hole.expected),
        precision,
        recall,
        latency,
        hole.member_access,
        member,
        member is not None and member not in hole.owner_members,
    )


async def run_configs(
    configs: dict[str, dict[str, Any]], workspace: Path, holes: list[Hole], label: str = ""
) -> dict[str, list[Outcome]]:
    """All configurations side by side, one fresh server each, interleaved hole by hole (the
    machine's load then weighs on every configuration alike): each configuration's outcomes,
    hole by hole."""
    folders = sorted(path for path in workspace.iterdir() if path.is_dir())
    sessions = {
        name: LspSession(f"fimble-crossfile-{name.replace(' ', '-')}", options, folders)
        for name, options in configs.items()
    }
    results: dict[str, list[Outcome]] = {name: [] for name in configs}
    try:
        for session in sessions.values():
            await session.start()
            await session.warm_up((folders[0] / "warm_up.py").as_uri())
        for session in sessions.values():
            await session.workspace_indexed()  # snippets chosen before it may differ
        names = list(configs)
        for index, hole in enumerate(holes):
            order = names[index % len(names) :] + names[: index % len(names)]
            for name in order:
                outcome = score(hole, *(await ask(sessions[name], hole)))
                results[name].append(outcome)
                print(
                    f"  {label}{index + 1}/{len(holes)} [{name}] "
                    f"{'ok ' if outcome.exact else 'no '} sim {outcome.similarity:.2f} "
                    f"{outcome.latency:5.1f}s",
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
    return results


def paired_interval(treated: list[float], baseline: list[float], scale: float = 100.0) -> str:
    mean, low, high = paired_bootstrap(treated, baseline)
    return f"{scale * mean:+.1f} [{scale * low:+.1f}, {scale * high:+.1f}]"


def report(results: dict[str, list[Outcome]]) -> list[str]:
    """The comparison table (every configuration against the first) and, where there are
    member-access holes, their table."""
    names = list(results)
    base = results[names[0]]
    base_p50 = statistics.median(o.latency for o in base)
    base_p95 = percentile([o.latency for o in base], 0.95)
    lines = [
        f"{len(base)} holes; differences against {names[0]!r}, paired, with a 95% bootstrap "
        "interval (2,000 resamples of the holes, fixed seed); identifiers: mean precision / "
        "recall of the suggested line's identifiers against the expected line's",
        "",
        "| context | exact match | vs none | won / lost | edit similarity | vs none "
        "| identifiers P / R | p50 latency | p95 latency |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        outcomes = results[name]
        exact = [float(o.exact) for o in outcomes]
        similarity = [o.similarity for o in outcomes]
        won = sum(o.exact and not b.exact for o, b in zip(outcomes, base, strict=True))
        lost = sum(b.exact and not o.exact for o, b in zip(outcomes, base, strict=True))
        p50 = statistics.median(o.latency for o in outcomes)
        p95 = percentile([o.latency for o in outcomes], 0.95)
        lines.append(
            f"| {name} | {100 * statistics.fmean(exact):.1f}% "
            f"| {paired_interval(exact, [float(b.exact) for b in base])} | {won} / {lost} "
            f"| {100 * statistics.fmean(similarity):.1f} "
            f"| {paired_interval(similarity, [b.similarity for b in base])} "
            f"| {100 * statistics.fmean(o.precision for o in outcomes):.1f} / "
            f"{100 * statistics.fmean(o.recall for o in outcomes):.1f} "
            f"| {p50:.2f} s ({p50 / base_p50 if base_p50 else 0:.2f}x) "
            f"| {p95:.2f} s ({p95 / base_p95 if base_p95 else 0:.2f}x) |"
        )
    return lines + member_report(results)


def member_report(results: dict[str, list[Outcome]]) -> list[str]:
    subsets = {name: [o for o in outcomes if o.member_access] for name, outcomes in results.items()}
    if not any(subsets.values()):
        return []
    lines = [
        "",
        "Member-access holes (the line writes `X.member` of a workspace module X); "
        "non-existent: the suggestion's first member after `X.` is not a name of X",
        "",
        "| context | holes | exact match | suggestions writing `X.` | non-existent member |",
        "|---|---|---|---|---|",
    ]
    for name, subset in subsets.items():
        written = [o for o in subset if o.member is not None]
        invented = sum(o.invented_member for o in written)
        share = 100 * invented / len(written) if written else 0.0
        lines.append(
            f"| {name} | {len(subset)} | {100 * statistics.fmean(o.exact for o in subset):.1f}% "
            f"| {len(written)} | {invented} ({share:.1f}%) |"
        )
    return lines


def differing_answers(first: list[Outcome], again: list[Outcome]) -> int:
    return sum(a.got != b.got for a, b in zip(first, again, strict=True))


def snippet_churn(workspace: Path, holes: list[Hole]) -> tuple[int, int]:
    """Type each hole's line a character at a time, gathering context (384 tokens) at
    every keystroke as the server does: (keystrokes, keystrokes that changed the snippets).
    A change moves the prompt's start, so the model evaluates it again."""
    folders = tuple(sorted(path for path in workspace.iterdir() if path.is_dir()))
    context = CrossFileContext(WorkspaceScope(folders))
    while context.index_step(500):
        pass
    count = gguf_token_counter(resolve_model_path(None))
    options = context_options(Settings(context_tokens=DEFAULT_CONTEXT_TOKENS))
    keystrokes = changed = 0
    for hole in holes:
        lines = hole.text.split("\n")
        before = sum(len(line) + 1 for line in lines[: hole.line]) + len(hole.indent)
        previous = None
        for typed in range(len(hole.expected) + 1):
            lines[hole.line] = hole.indent + hole.expected[:typed]
            text = "\n".join(lines)
            chosen = context.gather(hole.path, text, before + typed, hole.language, options, count)
            if previous is not None:
                keystrokes += 1
                changed += chosen != previous
            previous = chosen
    return keystrokes, changed


def build_python_workspace(target: Path) -> list[str]:
    present = []
    for package in PY_PACKAGES:
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


def build_js_workspace(target: Path) -> list[str]:
    """Each npm package fetched with `npm pack` (no dependencies, no install scripts) and its
    source folders copied into its own workspace folder."""
    present = []
    with tempfile.TemporaryDirectory(prefix="fimble-npm-") as directory:
        downloads = Path(directory)
        for spec, folders in NPM_PACKAGES.items():
            name = spec.rsplit("@", 1)[0]
            packed = subprocess.run(
                ["npm", "pack", spec, "--silent", "--pack-destination", str(downloads)],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if packed.returncode != 0 or not packed.stdout.strip():
                print(f"npm pack {spec} failed: {packed.stderr.strip()[-200:]}", file=sys.stderr)
                continue
            unpacked = downloads / name
            with tarfile.open(downloads / packed.stdout.strip().split("\n")[-1]) as archive:
                archive.extractall(unpacked, filter="data")
            for folder in folders:
                shutil.copytree(unpacked / "package" / folder, target / name / folder)
            present.append(name)
    return present


HoleFinder = Callable[[Path, str, str], list[Hole]]


def sample_holes(
    workspace: Path,
    packages: list[str],
    count: int,
    seed: int,
    cursor: str = "line",
    finder: HoleFinder = find_holes,
    member_access_only: bool = False,
) -> list[Hole]:
    """`count` holes taken from the packages in turn, each package's in a seeded order
    (member accesses only, where asked)."""
    per_package = {
        package: [
            hole
            for hole in finder(workspace, package, cursor)
            if hole.member_access or not member_access_only
        ]
        for package in packages
    }
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
    parser.add_argument("--language", choices=(*LANGUAGES, "both"), default="python")
    parser.add_argument(
        "--holes",
        type=int,
        help="holes per language (default: 200 Python, 100 TypeScript/JavaScript; 40 with --fast)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"for iterating: {FAST_HOLES} holes per language and, unless --configs says "
        f"otherwise, only {FAST_CONFIGS!r}",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the configurations this many times, each in fresh servers, and count the "
        "answers that differ from the first run (determinism)",
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--member-access",
        action="store_true",
        help="only holes whose line writes `X.member` of a workspace module X (with "
        "--config 'no guide={\"memberGuide\": false}': the member guide against none)",
    )
    parser.add_argument("--configs")
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="one more configuration: the settings it changes from the common ones (e.g. "
        "'suffix 64={\"suffixTokens\": 64}'); named in --configs or, if that is not given, "
        "added to the default list",
    )
    parser.add_argument("--prefix-tokens", type=int, help="default: fimble's own default")
    parser.add_argument("--suffix-tokens", type=int, help="default: fimble's own default")
    parser.add_argument("--context-tokens", type=int, help="default: fimble's own default")
    parser.add_argument(
        "--cursor",
        choices=("line", "call"),
        default="line",
        help="line: the hole is the whole line's code (the cursor after its indentation); "
        "call: the line is typed up to the first use of the other file's name",
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
    parser.add_argument(
        "--baseline-from",
        help=(
            "an --answers file of an earlier run over the same holes: its first configuration's "
            "answers become the baseline of the differences (ask only the new configurations)"
        ),
    )
    parser.add_argument(
        "--only",
        type=lambda text: [int(number) for number in text.split(",")],
        help="ask only these holes of the sample (numbers as printed, e.g. 5,9): to trace them",
    )
    args = parser.parse_args(argv)
    args.known_configs = dict(CONFIGS)
    for entry in args.config:
        name, _, settings = entry.partition("=")
        try:
            changed = json.loads(settings)
        except json.JSONDecodeError:
            changed = None
        if not isinstance(changed, dict):
            parser.error(f"--config {entry!r}: give NAME={{...settings as JSON...}}")
        args.known_configs[name.strip()] = changed
    if args.configs is None:
        args.configs = ",".join(
            [
                *(FAST_CONFIGS.split(",") if args.fast else CONFIGS),
                *args.known_configs.keys() - CONFIGS,
            ]
        )
    known = args.known_configs
    unknown = [name for name in args.configs.split(",") if name not in known]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def holes_wanted(args: argparse.Namespace, language: str) -> int:
    if args.holes is not None:
        return int(args.holes)
    return FAST_HOLES if args.fast else DEFAULT_HOLES[language]


def answer_records(
    holes: list[Hole], results: dict[str, list[Outcome]], workspace: Path, run: int
) -> list[dict[str, Any]]:
    return [
        {
            "run": run,
            "hole": index + 1,
            "config": name,
            "path": str(hole.path.relative_to(workspace)),
            "line": hole.line + 1,
            "typed": hole.typed,
            "expected": hole.expected,
            "got": outcome.got,
            "latency": outcome.latency,
            "member": outcome.member,
        }
        for name, outcomes in results.items()
        for index, (hole, outcome) in enumerate(zip(holes, outcomes, strict=False))
    ]


def _saved_answers(
    saved: list[dict[str, Any]], holes: list[Hole], workspace: Path, language: str, config: str
) -> list[dict[str, Any]]:
    """`config`'s saved answers to `holes`, in their order (the holes must match)."""
    by_hole = {
        (answer["path"], answer["line"], answer["typed"]): answer
        for answer in saved
        if answer["config"] == config
        and answer.get("run", 1) == 1
        and answer.get("language", language) == language
    }
    keys = [(str(hole.path.relative_to(workspace)), hole.line + 1, hole.typed) for hole in holes]
    missing = [key for key in keys if key not in by_hole]
    if missing:
        raise SystemExit(
            f"--baseline-from: {len(missing)} holes not in the saved run, e.g. {missing[0]}"
        )
    return [by_hole[key] for key in keys]


def saved_baseline(
    saved: list[dict[str, Any]], holes: list[Hole], workspace: Path, language: str
) -> tuple[str, list[Outcome]]:
    """The saved run's first configuration as a baseline, scored as this run scores."""
    config = saved[0]["config"]
    answers = _saved_answers(saved, holes, workspace, language, config)
    outcomes = [
        score(hole, answer["got"], answer["latency"])
        for hole, answer in zip(holes, answers, strict=True)
    ]
    return f"{config} (saved run)", outcomes


def same_answers(name: str, baseline: list[Outcome], results: dict[str, list[Outcome]]) -> str:
    """How many answers of this run equal the saved baseline's: holes where the new
    configuration's prompt is the baseline's (nothing qualified) show whether the two runs
    can be compared at all."""
    lines = [f"against {name}, from another run (its latencies are that run's):"]
    for config, outcomes in results.items():
        same = sum(
            outcome.got == saved.got for outcome, saved in zip(outcomes, baseline, strict=False)
        )
        lines.append(f"  [{config}] {same} of {len(outcomes)} answers equal the baseline's")
    return "\n".join(lines)


async def bench_language(
    args: argparse.Namespace, language: str, common: dict[str, Any]
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix=f"fimble-crossfile-{language}-") as directory:
        workspace = Path(directory).resolve()
        if language == "python":
            packages, finder = build_python_workspace(workspace), find_holes
        else:
            packages, finder = build_js_workspace(workspace), find_js_holes
        count = holes_wanted(args, language)
        holes = sample_holes(
            workspace, packages, count, args.seed, args.cursor, finder, args.member_access
        )
        if args.only:
            holes = [hole for number, hole in enumerate(holes, 1) if number in args.only]
        print(
            f"\n## {language}: packages {', '.join(packages)}; holes {len(holes)} "
            f"(seed {args.seed}), of which member access {sum(h.member_access for h in holes)}; "
            f"cursor {args.cursor}",
            flush=True,
        )
        if args.churn:
            keystrokes, changed = snippet_churn(workspace, holes)
            print(
                f"typing the {len(holes)} holes' lines: {keystrokes} keystrokes, the chosen "
                f"snippets changed on {changed} ({100 * changed / max(1, keystrokes):.1f}%)"
            )
            return []
        configs = {
            name: {"contextTokens": DEFAULT_CONTEXT_TOKENS, **common, **args.known_configs[name]}
            for name in args.configs.split(",")
        }
        first = await run_configs(configs, workspace, holes)
        if args.baseline_from:
            saved = json.loads(Path(args.baseline_from).read_text(encoding="utf-8"))
            name, outcomes = saved_baseline(saved, holes, workspace, language)
            print(same_answers(name, outcomes, first), flush=True)
            first = {name: outcomes, **first}
        print("\n".join(["", *report(first)]), flush=True)
        answers = answer_records(holes, first, workspace, 1)
        for run in range(2, args.repeat + 1):
            again = await run_configs(configs, workspace, holes, f"run {run}: ")
            answers += answer_records(holes, again, workspace, run)
            for name in configs:
                differ = differing_answers(first[name], again[name])
                print(
                    f"determinism, run {run} against run 1 [{name}]: {differ} of "
                    f"{min(len(first[name]), len(again[name]))} answers differ",
                    flush=True,
                )
        return [{**answer, "language": language} for answer in answers]


async def main() -> None:
    args = parse_args()
    main_task = asyncio.current_task()
    if main_task is not None:  # SIGTERM stops a long run with the holes answered so far
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    budgets = {
        "prefixTokens": args.prefix_tokens,
        "suffixTokens": args.suffix_tokens,
        "contextTokens": args.context_tokens,
    }
    common = {
        **{name: value for name, value in budgets.items() if value is not None},
        **json.loads(args.settings),
    }
    languages = LANGUAGES if args.language == "both" else (args.language,)
    answers = []
    for language in languages:
        answers += await bench_language(args, language, common)
    if args.answers:
        Path(args.answers).write_text(json.dumps(answers, indent=1), encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
