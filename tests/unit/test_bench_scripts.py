"""The benchmarks' own bookkeeping: the keys a replay types rebuild the file, and a
cross-file hole typed up to the call splits its line where the call starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.crossfile import find_holes
from bench.replay import Keystroke, script, utf16

SOURCE = (
    "import os\n\n\n"
    "def main(argv):\n"
    "    name = os.path.basename(argv[0])\n"
    "\n"
    "    for item in argv[1:]:\n"
    "        print(name, item)\n"
    "    return 0\n"
)


def _apply(text: str, key: Keystroke) -> str:
    lines = text.split("\n")
    line, column = key.start or (key.line, key.column - utf16(key.character))
    offset = sum(len(each) + 1 for each in lines[:line]) + column
    return text[:offset] + key.character + text[offset:]


@pytest.mark.parametrize("block_lines", [1, 3, 5])
def test_replay_keys_write_the_block_back(block_lines: int) -> None:
    document, keys = script("file:///x.py", SOURCE, 4, block_lines)
    assert document.split("\n")[4] == "    "
    assert document.count("\n") == SOURCE.count("\n") - (block_lines - 1)
    for key in keys:
        document = _apply(document, key)
        line = document.split("\n")[key.line]
        assert utf16(line[: key.column]) == key.column
        assert SOURCE.split("\n")[key.line] == line[: key.column] + key.rest_of_line
    assert document == SOURCE
    enters = [key for key in keys if key.start is not None]
    assert len(enters) == block_lines - 1
    # Enter before a blank line asks nothing; before code it asks for the whole line.
    assert all(key.ask == bool(key.rest_of_line) for key in enters)


def test_a_call_hole_is_typed_up_to_the_other_files_name(tmp_path: Path) -> None:
    package = tmp_path / "pkg" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("def shout_zq(text, times):\n    return text * times\n")
    (package / "main.py").write_text(
        "from .helpers import shout_zq\n\n\ndef run(word):\n"
        "    loud = shout_zq(word, 3)\n    return loud\n"
    )
    whole, call = find_holes(tmp_path, "pkg", "line"), find_holes(tmp_path, "pkg", "call")
    assert [(hole.typed, hole.expected) for hole in whole] == [("", "loud = shout_zq(word, 3)")]
    assert [(hole.typed, hole.expected) for hole in call] == [("loud = ", "shout_zq(word, 3)")]
    hole = call[0]
    assert hole.text.split("\n")[hole.line] == "    loud = " and hole.column == 11
