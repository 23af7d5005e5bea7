"""Golden cases for keeping only what leaves the document parsing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from context.postprocess.suggestion import Suggestion, Surroundings
from context.postprocess.syntax_check import (
    first_misaligned_line,
    keep_parsing_lines,
    longest_parsing_prefix,
)

SiteAt = Callable[[str, str], Surroundings]


@pytest.mark.parametrize(
    ("source", "text", "language_id", "kept"),
    [
        (
            "function f(a) {\n  ‸\n}\n",
            "const b = a;\n  if (b) {\n    go(b);",
            "javascript",
            "const b = a;",
        ),
        ("int main(void) {\n    ‸\n}\n", "if (x) {", "c", None),
        ("def f(a):\n    ‸\n", "x = a\n    return x", "python", "x = a\n    return x"),
        # A dedent to a column where no block starts: Python refuses it, tree-sitter not.
        (
            "def f(n):\n    ‸\n",
            "if n:\n        a = 1\n      b = 2",
            "python",
            "if n:\n        a = 1",
        ),
        # In a document that already has errors, a suggestion may add none.
        ("def f(a):\n    ‸\n\ndef broken(:\n    pass\n", "return a", "python", "return a"),
        ("def f(a):\n    ‸\n\ndef broken(:\n    pass\n", "return a +", "python", None),
        ("plain words\n‸\n", "anything (", "plaintext", "anything ("),  # no grammar to ask
    ],
)
def test_longest_parsing_prefix_golden(
    source: str, text: str, language_id: str, kept: str | None
) -> None:
    offset = source.index("‸")
    document = source.replace("‸", "", 1)
    assert longest_parsing_prefix(document, offset, text, 0, language_id) == kept


def test_the_filter_keeps_the_replaced_range_only_for_the_whole_text(site_at: SiteAt) -> None:
    site = site_at("def f(a, b):\n    total = combine(‸)\n", "python")
    assert keep_parsing_lines(Suggestion("a, b)", 1), site) == Suggestion("a, b)", 1)
    block = site_at("function f(a) {\n  ‸\n}\n", "javascript")
    shortened = keep_parsing_lines(Suggestion("const b = a;\n  if (b) {", 1), block)
    assert shortened == Suggestion("const b = a;", 0)
    assert keep_parsing_lines(Suggestion("if (b) {", 0), block) is None


def test_continuation_lines_and_strings_are_not_misaligned() -> None:
    document = "class A:\n    def f(self, items):\n        \n"
    offset = document.index("\n        \n") + 9
    block = (
        "total = sum(\n"
        "  item.size for item in items\n"
        "        )\n"
        '        text = """\n'
        "  free text\n"
        '   """\n'
        "        return total, text\n"
        "    def g(self):"
    )
    assert first_misaligned_line(document, offset, block) is None
    assert first_misaligned_line(document, offset, block + "\n  pass") == 8


def test_the_misalignment_check_gives_up_deep_in_a_long_block() -> None:
    body = "".join(f"    x{index} = {index}\n" for index in range(500))
    document = "def f():\n" + body + "    \n"
    offset = len(document) - 1
    assert first_misaligned_line(document, offset, "if x:\n        y = 1\n      z = 2") is None
    short = "def f():\n    \n"
    assert first_misaligned_line(short, len(short) - 1, "if x:\n        y = 1\n      z = 2") == 2
