"""The benchmarks' own bookkeeping, checked without a server: the keys a replay types rebuild
the file, a cross-file hole typed up to the call splits its line there, the shared session
reads `fimble/stats`, and the scripts' options parse as documented."""

from __future__ import annotations

import importlib
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from lsprotocol import types

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = ("lsp_session", "replay", "crossfile", "humaneval", "soak")

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


def test_a_call_hole_is_typed_up_to_the_other_files_name(
    bench: SimpleNamespace, tmp_path: Path
) -> None:
    package = tmp_path / "pkg" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("def shout_zq(text, times):\n    return text * times\n")
    (package / "main.py").write_text(
        "from .helpers import shout_zq\n\n\ndef run(word):\n"
        "    loud = shout_zq(word, 3)\n    return loud\n"
    )
    find_holes = bench.crossfile.find_holes
    whole, call = find_holes(tmp_path, "pkg", "line"), find_holes(tmp_path, "pkg", "call")
    assert [(hole.typed, hole.expected) for hole in whole] == [("", "loud = shout_zq(word, 3)")]
    assert [(hole.typed, hole.expected) for hole in call] == [("loud = ", "shout_zq(word, 3)")]
    hole = call[0]
    assert hole.text.split("\n")[hole.line] == "    loud = " and hole.column == 11


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


def test_humaneval_and_soak_options(bench: SimpleNamespace) -> None:
    assert bench.humaneval.parse_args(["--kind", "multi", "--limit", "3"]).limit == 3
    with pytest.raises(SystemExit):
        bench.humaneval.parse_args(["--every", "0"])
    soak = bench.soak.parse_args(["--requests", "200", "--storms", "20"])
    assert (soak.requests, soak.storms, soak.warm_up) == (200, 20, 10)


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
