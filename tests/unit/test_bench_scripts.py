"""The benchmarks' own bookkeeping, checked without a server: the keys a replay types rebuild
the file, the edit that prepares a spot in an open file gives the same document, a cross-file
hole typed up to the call splits its line there, the jump benchmark presses Enter where a
statement ends and jumps far each way, the shared session reads `fimble/stats`, the fuzzer's
cases are the same for a seed and its report states the growth against the target, and every
script's options parse as documented."""

from __future__ import annotations

import importlib
import itertools
import re
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from lsprotocol import types

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = (
    "paired_stats",
    "lsp_session",
    "replay",
    "crossfile",
    "first_line",
    "humaneval",
    "soak",
    "jumps",
    "fuzz",
)

SOURCE = (
    "import os\n\n\n"
    "def main(argv):\n"
    "    name = os.path.basename(argv[0])\n"
    "\n"
    "    for item in argv[1:]:\n"
    "        print(name, item)\n"
    "    return 0\n"
)


@pytest.fixture(scope="module")
def bench() -> Iterator[SimpleNamespace]:
    """The scripts, imported as they import each other when run (`python bench/x.py` puts
    bench/ first on the import path)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(BENCH))
        modules: dict[str, ModuleType] = {name: importlib.import_module(name) for name in SCRIPTS}
        yield SimpleNamespace(**modules)


def _offset(text: str, line: int, column: int) -> int:
    return sum(len(each) + 1 for each in text.split("\n")[:line]) + column


def _apply(text: str, start: tuple[int, int], new: str, end: tuple[int, int] | None = None) -> str:
    """An LSP edit on an ASCII text."""
    return text[: _offset(text, *start)] + new + text[_offset(text, *(end or start)) :]


def _type(bench: SimpleNamespace, text: str, key: Any) -> str:
    line, column = key.start or (key.line, key.column - bench.replay.utf16(key.character))
    return _apply(text, (line, column), key.character)


@pytest.mark.parametrize("block_lines", [1, 3, 5])
def test_replay_keys_write_the_block_back(bench: SimpleNamespace, block_lines: int) -> None:
    document, keys = bench.replay.script("file:///x.py", SOURCE, 4, block_lines)
    assert document.split("\n")[4] == "    "
    assert document.count("\n") == SOURCE.count("\n") - (block_lines - 1)
    for key in keys:
        document = _type(bench, document, key)
        line = document.split("\n")[key.line]
        assert bench.replay.utf16(line[: key.column]) == key.column
        assert SOURCE.split("\n")[key.line] == line[: key.column] + key.rest_of_line
    assert document == SOURCE
    enters = [key for key in keys if key.start is not None]
    assert len(enters) == block_lines - 1
    # Enter before a blank line asks nothing; before code it asks for the whole line.
    assert all(key.ask == bool(key.rest_of_line) for key in enters)


@pytest.mark.parametrize(("line", "block_lines"), [(4, 1), (4, 3), (6, 2), (7, 5)])
def test_a_spot_prepared_in_the_open_file_is_the_document_a_reopen_sends(
    bench: SimpleNamespace, line: int, block_lines: int
) -> None:
    document, keys = bench.replay.script("file:///x.py", SOURCE, line, block_lines)
    start, new_text, end = bench.replay.block_edit(SOURCE, line, block_lines)
    prepared = _apply(SOURCE, start, new_text, end)
    assert prepared == document
    for key in keys:  # typed back, the file is whole again for the next spot's edit
        prepared = _type(bench, prepared, key)
    assert prepared == SOURCE


def test_replay_options_default_to_todays_run_and_convert_pauses(bench: SimpleNamespace) -> None:
    plain = bench.replay.typing_of(bench.replay.parse_args([]))
    assert plain == bench.replay.Typing()  # no pause, every spot reopens the file
    args = bench.replay.parse_args(
        ["--read-ms", "30000", "--jump-pause-ms", "2000", "--stay-open", "--block-lines", "6"]
    )
    paced = bench.replay.typing_of(args)
    assert (paced.read_pause_s, paced.jump_pause_s, paced.stay_open) == (30.0, 2.0, True)
    assert paced.block_lines == 6 and paced.key_pause_s == 0.0
    with pytest.raises(SystemExit):
        bench.replay.parse_args(["--jump-pause-ms", "-1"])
    with pytest.raises(SystemExit):
        bench.replay.parse_args(["--off-every", "0"])


def _answer(bench: SimpleNamespace, latency_s: float, evaluated: int, after_jump: bool) -> Any:
    return bench.replay.Answer(
        "file:///x.py", latency_s, "model", evaluated, 0, 4, 0.1, 0.1, True, 1, after_jump
    )


def test_replay_reports_the_tokens_evaluated_after_each_jump(bench: SimpleNamespace) -> None:
    fimble = bench.replay.Pass(
        "fimble",
        [
            _answer(bench, 0.9, 1000, True),
            _answer(bench, 0.1, 2, False),
            _answer(bench, 0.7, 800, True),
        ],
    )
    off = bench.replay.Pass(
        "caches off",
        [
            _answer(bench, 2.0, 1500, True),
            _answer(bench, 1.8, 1400, False),
            _answer(bench, 1.9, 1450, True),
        ],
    )
    text = bench.replay.report(fimble, off, [0, 1, 2])
    assert "first request after each jump (2): fimble p50 800 ms, p95 900 ms" in text
    assert "their evaluated prompt tokens: fimble p50 900, p95 1000; caches off p50 1475" in text


def test_replay_splits_the_prefill_overhead_by_whether_cached_tokens_moved(
    bench: SimpleNamespace,
) -> None:
    def answer(evaluated: int, prefill_s: float, moved: int) -> Any:
        return bench.replay.Answer(
            "file:///x.py", 1.0, "model", evaluated, 900, 4, prefill_s, 0.3, True, moved=moved
        )

    answers = [
        answer(10, 0.6, 256),
        answer(20, 0.8, 240),
        answer(1, 0.11, 0),
        answer(12, 0.52, 0),
        answer(700, 12.0, 0),  # a jump's prefill: not keystroke-sized, left out
    ]
    text = bench.replay.shift_overhead(answers, 0.01)
    assert (
        "moved cached tokens (2) p50 550 ms, moved none, 1 token (1) p50 100 ms, "
        "moved none, 2 or more (1) p50 400 ms"
    ) in text


def test_replay_reports_the_answers_from_memory_right_after_an_enter(
    bench: SimpleNamespace,
) -> None:
    answers = [
        _answer(bench, 0.9, 1000, True),
        _answer(bench, 0.004, 0, False),
        _answer(bench, 0.5, 30, False),
        _answer(bench, 0.002, 0, False),
        _answer(bench, 0.3, 20, False),  # not after an Enter
    ]
    for answer, source in zip(answers[1:4], ("speculation", "model", "result_cache"), strict=True):
        answer.source, answer.after_enter = source, True
    answers[1].follows_suggestion = answers[2].follows_suggestion = True
    off = [_answer(bench, 2.0, 1500, a.after_jump) for a in answers]
    text = bench.replay.report(
        bench.replay.Pass("fimble", answers), bench.replay.Pass("caches off", off), [0, 1, 2, 3, 4]
    )
    assert (
        "fimble requests right after an Enter (3): 67% answered from memory, their p50 3 ms "
        "(by source: model 1, result_cache 1, speculation 1)"
    ) in text
    assert "after a line typed through a suggestion (2): 50% answered from memory" in text


def _package(root: Path, files: dict[str, str]) -> None:
    """A package's files under `root` (folders made as needed)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _shout_package(root: Path) -> None:
    """A package whose main.py calls, on its line 5, a function of its helpers.py."""
    main = "from .helpers import shout_zq\n\n\ndef run(word):\n    loud = shout_zq(word, 3)\n"
    _package(
        root / "pkg" / "pkg",
        {
            "__init__.py": "",
            "helpers.py": "def shout_zq(text, times):\n    return text * times\n",
            "main.py": main + "    return loud\n",
        },
    )


def test_a_call_hole_is_typed_up_to_the_other_files_name(
    bench: SimpleNamespace, tmp_path: Path
) -> None:
    _shout_package(tmp_path)
    find_holes = bench.crossfile.find_holes
    whole, call = find_holes(tmp_path, "pkg", "line"), find_holes(tmp_path, "pkg", "call")
    assert [(hole.typed, hole.expected) for hole in whole] == [("", "loud = shout_zq(word, 3)")]
    assert [(hole.typed, hole.expected) for hole in call] == [("loud = ", "shout_zq(word, 3)")]
    hole = call[0]
    assert hole.text.split("\n")[hole.line] == "    loud = " and hole.column == 11


def test_a_saved_baseline_is_paired_hole_by_hole_and_must_cover_the_holes(
    bench: SimpleNamespace, tmp_path: Path
) -> None:
    """--baseline-from: the saved run's first configuration, matched by path, line and typed
    text (not by order), scored as this run scores; a hole it lacks stops the run."""
    _shout_package(tmp_path)
    crossfile = bench.crossfile
    holes = crossfile.find_holes(tmp_path, "pkg", "call")
    saved = [
        {"config": "no context", "path": "elsewhere.py", "line": 1, "typed": "", "got": "x"},
        {
            "config": "no context",
            "path": "pkg/pkg/main.py",
            "line": 5,
            "typed": "loud = ",
            "got": "shout_zq(word, 3)",
            "latency": 2.0,
        },
        {
            "config": "all sources",
            "path": "pkg/pkg/main.py",
            "line": 5,
            "typed": "loud = ",
            "got": "wrong",
            "latency": 1.0,
        },
    ]
    name, outcomes = crossfile.saved_baseline(saved, holes, tmp_path, "python")
    assert name == "no context (saved run)"
    assert [(o.got, o.exact, o.latency) for o in outcomes] == [("shout_zq(word, 3)", True, 2.0)]
    this_run = {"all sources": [crossfile.score(holes[0], "shout_zq(word, 3)", 1.0)]}
    assert "[all sources] 1 of 1 answers equal" in crossfile.same_answers(name, outcomes, this_run)
    with pytest.raises(SystemExit, match="1 holes not in the saved run"):
        crossfile.saved_baseline(saved[:1], holes, tmp_path, "python")


def test_first_line_scoring_counts_a_right_line_followed_by_more(bench: SimpleNamespace) -> None:
    """bench/first_line.py: an answer whose first line is the expected rest of the line is
    exact, whatever follows it; the two configurations are paired by run and hole."""

    def answer(config: str, hole: int, got: str) -> dict[str, Any]:
        return {"run": 1, "hole": hole, "config": config, "expected": "UNSET:", "got": got}

    answers = [
        answer("no context", 1, "UNSET:"),
        answer("all sources", 1, "UNSET:\n    if multiple:"),
        answer("no context", 2, "None:"),
        answer("all sources", 2, "UNSET:"),
        answer("no context", 3, "unpaired"),
    ]
    table = bench.first_line.report(answers).splitlines()
    assert table[0].startswith("2 holes answered by both")
    assert table[-2].startswith("| no context | 50.0% |") and table[-2].endswith("| 0 |")
    assert table[-1].startswith("| all sources | 100.0% | +50.0 [") and "| 1 / 0 |" in table[-1]
    assert table[-1].endswith("| 1 |")


def test_first_line_pairs_named_configurations_of_runs_made_apart(bench: SimpleNamespace) -> None:
    """bench/first_line.py --pair --whole: two configurations from two answer files pair by
    the hole's place (not its number), and whole answers are scored as crossfile.py does."""

    def answer(config: str, hole: int, line: int, got: str) -> dict[str, Any]:
        return {
            "run": 1,
            "hole": hole,
            "config": config,
            "path": "pkg/a.py",
            "line": line,
            "typed": "x = ",
            "expected": "f(1)",
            "got": got,
        }

    first_run = [answer("no context", 1, 10, "g(1)"), answer("all sources", 1, 10, "f(1)\nmore")]
    second_run = [answer("ctx 768", 7, 10, "f(1)"), answer("ctx 768", 8, 20, "f(1)")]
    whole = bench.first_line.report(
        first_run + second_run, ("all sources", "ctx 768"), whole=True
    ).splitlines()
    assert whole[0] == "1 holes answered by both; whole answer"
    assert whole[-2].startswith("| all sources | 0.0% |")
    assert whole[-1].startswith("| ctx 768 | 100.0% | +100.0 [") and "| 1 / 0 |" in whole[-1]
    by_line = bench.first_line.report(first_run + second_run, ("all sources", "ctx 768"))
    assert "| ctx 768 | 100.0% | +0.0 [" in by_line
    with pytest.raises(SystemExit, match="no configuration 'ctx 1024'"):
        bench.first_line.report(first_run, ("all sources", "ctx 1024"))


def test_crossfile_holes_use_another_files_name_not_defined_in_the_file(
    bench: SimpleNamespace, tmp_path: Path
) -> None:
    _package(
        tmp_path / "pkg" / "pkg",
        {"__init__.py": "", "shapes.py": "def rect_area(w, h):\n    return w * h\n\nUNIT = 'cm'\n"},
    )
    (tmp_path / "pkg" / "pkg" / "main.py").write_text(
        "from pkg import shapes\nfrom .shapes import UNIT\n\n\ndef local_twice(x):\n"
        "    return x * 2\n\n\ndef report(w, h):\n"
        "    area = shapes.rect_area(w, h)\n"
        "    doubled = local_twice(area)\n"
        '    """Mentions shapes.rect_area(w, h) only in a docstring."""\n'
        "    return doubled\n"
    )
    holes = bench.crossfile.find_holes(tmp_path, "pkg", "call")
    assert [(hole.typed, hole.expected, hole.owner) for hole in holes] == [
        ("area = shapes.", "rect_area(w, h)", "shapes")
    ]
    assert holes[0].member_access and "rect_area" in holes[0].owner_members


def test_crossfile_samples_member_accesses_only_when_asked(
    bench: SimpleNamespace, tmp_path: Path
) -> None:
    _package(
        tmp_path / "pkg" / "pkg",
        {
            "__init__.py": "",
            "shapes.py": "def rect_area(w, h):\n    return w * h\n",
            "edges.py": "def perimeter(w, h):\n    return 2 * (w + h)\n",
        },
    )
    (tmp_path / "pkg" / "pkg" / "main.py").write_text(
        "from pkg import shapes\nfrom pkg.edges import perimeter\n\n\ndef report(w, h):\n"
        "    area = shapes.rect_area(w, h)\n"
        "    edge = perimeter(w, h)\n"
        "    return area, edge\n"
    )
    sample = bench.crossfile.sample_holes
    every = sample(tmp_path, ["pkg"], 10, 5)
    members = sample(tmp_path, ["pkg"], 10, 5, member_access_only=True)
    assert sorted(hole.expected for hole in every) == [
        "area = shapes.rect_area(w, h)",
        "edge = perimeter(w, h)",
    ]
    assert [hole.expected for hole in members] == ["area = shapes.rect_area(w, h)"]


def test_crossfile_js_holes_follow_imports_and_requires(
    bench: SimpleNamespace, tmp_path: Path
) -> None:
    package = tmp_path / "jspkg" / "lib"
    _package(
        package,
        {
            "util.js": "function mergeDeep(a, b) { return a }\nexports.flatten = function (x) {}\n",
            "types.ts": "export function isSchemaOk(s: unknown) { return true }\n",
        },
    )
    (package / "main.ts").write_text(
        "import { isSchemaOk as schemaOk } from './types'\n"
        "const util = require('./util')\n"
        "function local(s) {\n"
        "  const merged = util.mergeDeep(s, {})\n"
        "  if (schemaOk(merged)) return 1\n"
        "  const other = isSchemaOk(merged)\n"
        "  return local(merged)\n"
        "}\n"
    )
    holes = bench.crossfile.find_js_holes(tmp_path, "jspkg", "call")
    assert [(hole.language, hole.typed, hole.expected, hole.owner) for hole in holes] == [
        ("typescript", "const merged = util.", "mergeDeep(s, {})", "util"),
        ("typescript", "if (", "schemaOk(merged)) return 1", ""),
    ]


def test_crossfile_identifier_match_and_first_member(bench: SimpleNamespace) -> None:
    match = bench.crossfile.identifier_match
    assert match("return shapes.rect_area(w, h)", "return shapes.rect_area(w, h)", "python") == (
        1.0,
        1.0,
    )
    precision, recall = match("area = rect_area(w, h)", "area = area_of(w)", "python")
    assert (precision, recall) == (2 / 3, 2 / 4)
    assert match("return self", "return self", "python") == (1.0, 1.0)
    assert match("x = a", "", "python") == (0.0, 0.0)
    first = bench.crossfile.first_member
    assert first("shapes.area(w) + shapes.rect_area(w, h)", "shapes") == "area"
    assert first("myshapes.area(w)", "shapes") is None
    hole = bench.crossfile.Hole(
        Path("m.py"),
        0,
        "    ",
        "rect_area(w)",
        "",
        "a = shapes.",
        "python",
        "shapes",
        frozenset({"rect_area"}),
    )
    invented = bench.crossfile.score(hole, "area(w)", 0.5)
    assert invented.member == "area" and invented.invented_member and not invented.exact
    right = bench.crossfile.score(hole, "rect_area(w)", 0.5)
    assert right.exact and right.member == "rect_area" and not right.invented_member


def test_paired_bootstrap_interval_is_seeded_and_holds_the_mean(bench: SimpleNamespace) -> None:
    treated = [1.0] * 30 + [0.0] * 70
    baseline = [0.0] * 20 + [1.0] * 10 + [0.0] * 70
    mean, low, high = bench.paired_stats.paired_bootstrap(treated, baseline)
    assert mean == pytest.approx(0.2)
    assert low < mean < high and low > 0.0
    assert bench.paired_stats.paired_bootstrap(treated, baseline) == (mean, low, high)
    assert bench.paired_stats.paired_bootstrap([1.0, 0.0], [1.0, 0.0]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        bench.paired_stats.paired_bootstrap([1.0], [])


def test_crossfile_report_counts_wins_losses_and_invented_members(
    bench: SimpleNamespace,
) -> None:
    outcome = bench.crossfile.Outcome

    def answer(exact: bool, latency: float, invented: bool | None = None) -> Any:
        member = None if invented is None else ("nope" if invented else "real")
        return outcome(
            "x",
            exact,
            float(exact),
            1.0,
            1.0,
            latency,
            invented is not None,
            member,
            bool(invented),
        )

    results = {
        "no context": [answer(True, 1.0), answer(False, 1.0, True), answer(False, 2.0)],
        "all sources": [answer(True, 2.0), answer(True, 2.0, False), answer(False, 4.0)],
    }
    text = "\n".join(bench.crossfile.report(results))
    assert "| all sources | 66.7% | +33.3 [" in text and "| 1 / 0 |" in text
    assert "2.00 s (2.00x)" in text
    assert "| no context | 1 | 0.0% | 1 | 1 (100.0%) |" in text
    assert "| all sources | 1 | 100.0% | 1 | 0 (0.0%) |" in text


def test_crossfile_fast_mode_and_repeat(bench: SimpleNamespace) -> None:
    fast = bench.crossfile.parse_args(["--fast", "--language", "both"])
    assert fast.configs == "no context,all sources"
    assert bench.crossfile.holes_wanted(fast, "js") == 40
    full = bench.crossfile.parse_args(["--repeat", "2"])
    assert full.repeat == 2 and bench.crossfile.holes_wanted(full, "python") == 200
    assert bench.crossfile.holes_wanted(full, "js") == 100
    assert (
        bench.crossfile.holes_wanted(bench.crossfile.parse_args(["--fast", "--holes", "3"]), "js")
        == 3
    )
    with pytest.raises(SystemExit):
        bench.crossfile.parse_args(["--repeat", "0"])
    assert bench.crossfile.parse_args(["--only", "5,9"]).only == [5, 9]


def test_crossfile_keeps_what_follows_the_cursor_of_an_item_that_rewrites_the_line(
    bench: SimpleNamespace,
) -> None:
    cursor = types.Position(4, 11)
    rewrite = types.InlineCompletionItem(
        "    loud = shout(word)", range=types.Range(types.Position(4, 0), cursor)
    )
    plain = types.InlineCompletionItem("shout(word)")
    after = bench.crossfile.text_after_cursor
    assert after(bench.lsp_session.Completion(rewrite, 0.1), 11) == "shout(word)"
    assert after(bench.lsp_session.Completion(plain, 0.1), 11) == "shout(word)"
    assert after(bench.lsp_session.Completion(None, 0.1), 11) == ""


def test_crossfile_refuses_a_configuration_it_does_not_know(bench: SimpleNamespace) -> None:
    assert bench.crossfile.parse_args(["--configs", "no context,recent"]).configs
    with pytest.raises(SystemExit):
        bench.crossfile.parse_args(["--configs", "no context,everything"])


def test_crossfile_takes_more_configurations_and_fimbles_own_budgets(
    bench: SimpleNamespace,
) -> None:
    parse = bench.crossfile.parse_args
    args = parse(["--fast", "--config", 'suffix 64={"suffixTokens": 64}'])
    assert args.configs == "no context,all sources,suffix 64"
    assert args.known_configs["suffix 64"] == {"suffixTokens": 64}
    assert parse(["--config", "short={}", "--configs", "short"]).configs == "short"
    assert parse([]).prefix_tokens is None  # the server's default, not the script's own
    for broken in ("nothing", "bad={", "list=[1]"):
        with pytest.raises(SystemExit):
            parse(["--config", broken])


def test_humaneval_and_soak_options(bench: SimpleNamespace) -> None:
    assert bench.humaneval.parse_args(["--kind", "multi", "--limit", "3"]).limit == 3
    with pytest.raises(SystemExit):
        bench.humaneval.parse_args(["--every", "0"])
    soak = bench.soak.parse_args(["--requests", "200", "--storms", "20"])
    assert (soak.requests, soak.storms, soak.warm_up) == (200, 20, 10)


MODULE = "\n".join(
    [
        "def far(a, b):",
        '    """A docstring whose lines',
        "    total = a + b look like code.",
        '    """',
        "    total = a + b",
        "    return total",
        "",
        "",
        "def loop(items):",
        "    for item in items:",
        "        print(item, end='')",
        "        count = len(item)",
        "    if items and",
        "        all(items):",
        "        pass",
        "    result = call(",
        "        first_argument, second)",
        "    done = 'a (quoted) bracket('",
    ]
    + [f"    value_{n} = compute({n})" for n in range(80)]
    + ["    return value_0", ""]
)


def test_jumps_press_enter_only_where_a_statement_ends_inside_a_block(
    bench: SimpleNamespace,
) -> None:
    lines = bench.jumps.statement_lines(MODULE)
    # "total = a + b" in the docstring, a return, a block opener, a condition continued on
    # the next line, a pass, a call whose brackets close further down: never.
    assert not {2, 5, 9, 12, 13, 14, 15, 16} & set(lines)
    # Statements, the last of a block too, brackets inside a string whatever they are.
    assert {4, 10, 11, 17, 18} <= set(lines)


def test_jumps_go_far_down_then_far_up_in_turn(bench: SimpleNamespace) -> None:
    plan = bench.jumps.jump_plan(MODULE, 5)
    total = MODULE.count("\n") + 1
    assert [direction for _, direction in plan] == ["down", "up", "down", "up", "down"]
    for (line, direction), (after, _) in itertools.pairwise(plan):
        assert abs(after - line) > total / 2  # every jump crosses most of the file
        assert (line > total / 2) == (direction == "down")
    assert all(line in bench.jumps.statement_lines(MODULE) for line, _ in plan)


def test_enter_brings_the_lines_indentation(bench: SimpleNamespace) -> None:
    assert bench.jumps.enter_edit("        count = len(item)") == (25, "\n        ", 8)
    assert bench.jumps.enter_edit("\tx = 'é'") == (8, "\n\t", 1)


def _jump(bench: SimpleNamespace, evaluated: int, latency_s: float) -> Any:
    return bench.jumps.Jump(10, "down", latency_s, "model", 1200, 0, 0, evaluated)


def test_jumps_report_sets_the_passes_side_by_side_with_ratios(bench: SimpleNamespace) -> None:
    scene = bench.jumps.Scene(Path("/pkg"), Path("/pkg/big.py"), "x\n" * 700, ())
    fimble = bench.jumps.Pass("fimble", [_jump(bench, n, s) for n, s in ((100, 1.0), (300, 3.0))])
    off = bench.jumps.Pass(
        "caches off", [_jump(bench, n, s) for n, s in ((1000, 4.0), (1000, 6.0))]
    )
    text = bench.jumps.report(scene, bench.jumps.Pacing(), fimble, off)
    assert "| 1 down | 10 | 100 (of 1200, model) | 1000 | 1000 | 4000 |" in text
    assert "| fimble | 200 | 2000 | 3000 | 0.20x / 0.40x / 0.50x | 0 |" in text
    assert "| caches off | 1000 | 5000 | 6000 | 1.00x / 1.00x / 1.00x | 0 |" in text


def test_jumps_options(bench: SimpleNamespace) -> None:
    args = bench.jumps.parse_args([])
    assert (args.module, args.read_s, args.jump_pause_s, args.jumps) == ("click.utils", 60, 2, 5)
    with pytest.raises(SystemExit):
        bench.jumps.parse_args(["--jumps", "0"])
    with pytest.raises(SystemExit):
        bench.jumps.parse_args(["--read-s", "-5"])


def test_the_figures_of_fimble_stats_are_read_from_a_mapping_or_an_object(
    bench: SimpleNamespace,
) -> None:
    read = bench.lsp_session.RequestFigures.from_stats
    stats = {"source": "model", "evaluated_tokens": 12, "prompt_tokens": 900, "recent": []}
    figures = read(stats)
    assert (figures.source, figures.evaluated_tokens, figures.prompt_tokens) == ("model", 12, 900)
    assert figures.passes == 1  # absent: its default
    record = namedtuple("record", "source evaluated_tokens passes")("result_cache", 0, 2)
    assert (read(record).source, read(record).passes) == ("result_cache", 2)
    assert read({}) == bench.lsp_session.RequestFigures()  # nothing answered yet


def test_the_session_takes_the_first_item_and_its_text(bench: SimpleNamespace) -> None:
    first = bench.lsp_session.first_item
    snippet = types.InlineCompletionItem(types.StringValue("x = ${1:1}"))
    listed = types.InlineCompletionList([snippet, types.InlineCompletionItem("y")])
    assert first(listed) is snippet and first([]) is None and first(None) is None
    assert bench.lsp_session.Completion(snippet, 0.0).text == "x = ${1:1}"


def test_fuzz_options_cases_and_report(bench: SimpleNamespace) -> None:
    args = bench.fuzz.parse_args([])
    assert (args.messages, args.max_tokens, args.batch, args.check_every) == (10_000, 8, 1000, 100)
    with pytest.raises(SystemExit):
        bench.fuzz.parse_args(["--messages", "0"])
    hostile = bench.fuzz.generate_cases  # bench/hostile_messages.py, shared with the fuzz test
    assert hostile(12, 3) == hostile(12, 3) and len(hostile(12, 3)) == 12
    assert bench.fuzz.frame(b"{}") == b"Content-Length: 2\r\n\r\n{}"
    figures = bench.fuzz.Figures(messages=12, requests=5, answered=5, batch_size=2)
    figures.processes.append(bench.fuzz.ProcessFigures(1, 12, 700.0, 712.5))
    text = bench.fuzz.report(figures)
    assert re.search(r"RSS growth first process \(MB\) +\+12\.5 +< 50", text)
    assert not bench.fuzz.failed(figures)
    figures.unanswered = 1
    assert bench.fuzz.failed(figures)
