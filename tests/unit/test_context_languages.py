"""Tests for language detection, comment syntax and lazy grammar loading."""

from __future__ import annotations

import pytest

from context import language_for_path, syntax_tree
from context.languages import ends_with_block_opener, line_comment_prefix
from context.syntax_tree import load_language, parse_document


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.py", "python"),
        ("/x/y/app.js", "javascript"),
        ("m.mjs", "javascript"),
        ("m.cjs", "javascript"),
        ("App.jsx", "javascriptreact"),
        ("file:///src/index.ts", "typescript"),
        ("View.tsx", "typescriptreact"),
        ("main.go", "go"),
        ("lib.rs", "rust"),
        ("Main.java", "java"),
        ("x.c", "c"),
        ("x.h", "c"),
        ("x.cc", "cpp"),
        ("x.cpp", "cpp"),
        ("x.cxx", "cpp"),
        ("x.hpp", "cpp"),
        ("x.hh", "cpp"),
        ("README", "plaintext"),
        ("notes.txt", "plaintext"),
        ("archive.tar.gz", "plaintext"),
    ],
)
def test_language_for_path(path: str, expected: str) -> None:
    assert language_for_path(path) == expected


def test_line_comment_prefix() -> None:
    assert line_comment_prefix("python") == "#"
    assert line_comment_prefix("typescriptreact") == "//"
    assert line_comment_prefix("rust") == "//"
    assert line_comment_prefix("lua") == "--"
    assert line_comment_prefix("plaintext") == ""


def test_block_openers_depend_on_language() -> None:
    assert ends_with_block_opener("if x:  ", "python")
    assert not ends_with_block_opener("case x:", "c")
    assert ends_with_block_opener("const f = () =>", "typescript")
    assert ends_with_block_opener("if x then", "lua")
    assert not ends_with_block_opener("undo", "lua")
    assert not ends_with_block_opener("   ", "python")


@pytest.mark.parametrize(
    "language_id",
    [
        "python",
        "javascript",
        "javascriptreact",
        "typescript",
        "typescriptreact",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
    ],
)
def test_every_registered_grammar_loads_and_is_cached(language_id: str) -> None:
    language = load_language(language_id)
    assert language is not None
    assert load_language(language_id) is language


def test_tsx_grammar_parses_jsx() -> None:
    tree = parse_document("const a = <div>{x}</div>;\n", "typescriptreact")
    assert tree is not None
    assert not tree.has_error


def test_unknown_language_has_no_tree() -> None:
    assert load_language("cobol") is None
    assert parse_document("anything", "cobol") is None


def test_broken_grammar_falls_back_to_no_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(syntax_tree.GRAMMAR_MODULES, "brokenlang", ("no_such_module_x", "f"))
    load_language.cache_clear()
    parse_document.cache_clear()
    try:
        assert load_language("brokenlang") is None
        assert parse_document("x", "brokenlang") is None
    finally:
        load_language.cache_clear()
        parse_document.cache_clear()


def test_offsets_convert_between_bytes_and_code_points() -> None:
    text = 's = "😀日本"\nx = 1\n'
    tree = parse_document(text, "python")
    assert tree is not None
    offset = text.index("x")
    byte = tree.byte_offset(offset)
    assert byte == len(text[:offset].encode("utf-8"))
    assert tree.char_offset(byte) == offset


def test_a_text_past_the_parse_limit_is_not_parsed_and_still_planned() -> None:
    """A generated file's tree would cost hundreds of MB: past the limit the planner works
    as for a language without a grammar."""
    from context import plan_completion

    limit = syntax_tree.MAX_PARSED_CHARS
    small = "x = 1\n" * 10
    huge = "x = 1\n" * (limit // 6 + 1) + "def f(a, b):\n    return "
    assert parse_document(small, "python") is not None
    assert parse_document(huge, "python") is None
    plan = plan_completion(huge, len(huge), "python", lambda text: len(text) // 4, 256, 64)
    assert plan is not None and plan.prefix.endswith("return ")
