"""Tests for the prompt windows: token trimming and structural suffix ends."""

from __future__ import annotations

from context import plan_completion
from context.prompt_window import prefix_window, suffix_window

CURSOR = "‸"


class CountingWords:
    """A fake token counter (one token per word) that records how often it ran."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> int:
        self.calls += 1
        return len(text.split())


def split_cursor(source: str) -> tuple[str, int]:
    offset = source.index(CURSOR)
    return source.replace(CURSOR, "", 1), offset


def numbered_lines(count: int) -> str:
    return "".join(f"line {index}\n" for index in range(count))


def test_prefix_trimmed_from_top_by_whole_lines() -> None:
    text = numbered_lines(10) + "tail here"
    counter = CountingWords()
    prefix = prefix_window(text, len(text), counter, budget=8)
    assert prefix == "line 7\nline 8\nline 9\ntail here"
    assert len(prefix.split()) <= 8


def test_prefix_keeps_cursor_line_even_over_budget() -> None:
    text = "a b\nc d e f g"
    assert prefix_window(text, len(text), CountingWords(), budget=1) == "c d e f g"


def test_prefix_whole_document_when_it_fits() -> None:
    text = numbered_lines(3) + "x"
    assert prefix_window(text, len(text), CountingWords(), budget=100) == text


def test_token_counter_called_logarithmically() -> None:
    text = numbered_lines(5000)
    counter = CountingWords()
    prefix = prefix_window(text, len(text), counter, budget=2000)
    assert prefix == "".join(text.splitlines(True)[-1000:])
    assert counter.calls <= 30
    counter = CountingWords()
    suffix = suffix_window(text, 0, len(text), counter, budget=2000)
    assert suffix == "".join(text.splitlines(True)[:1000])
    assert counter.calls <= 30


def test_suffix_trimmed_at_bottom_by_whole_lines() -> None:
    text = "x = (" + "\n" + numbered_lines(10)
    counter = CountingWords()
    suffix = suffix_window(text, 4, len(text), counter, budget=7)
    assert suffix == "(\nline 0\nline 1\nline 2\n"


def plan_suffix(source: str, language_id: str, budget: int = 1000) -> str:
    text, offset = split_cursor(source)
    result = plan_completion(text, offset, language_id, CountingWords(), 1000, budget)
    assert result is not None
    return result.suffix


def test_python_suffix_ends_with_enclosing_function() -> None:
    source = (
        "import os\n\n\n"
        "def first(a):\n    x = compute(‸)\n    return x\n\n\n"
        "def second():\n    return 2\n"
    )
    assert plan_suffix(source, "python") == ")\n    return x\n"


def test_python_method_suffix_ends_with_top_level_class() -> None:
    source = (
        "class A:\n    def m(self):\n        ‸\n\n    def n(self):\n        pass\n\n"
        "def after():\n    pass\n"
    )
    assert plan_suffix(source, "python") == "\n\n    def n(self):\n        pass\n"


def test_python_blank_indented_line_after_body_keeps_suffix_local() -> None:
    source = "def f():\n    x = 1\n    ‸\n\ndef g():\n    pass\n"
    assert plan_suffix(source, "python") == "\n"


def test_python_empty_body_line_keeps_suffix_local() -> None:
    source = "def target(a):\n    ‸\n\ndef g():\n    pass\n"
    assert plan_suffix(source, "python") == "\n"


def test_suffix_uses_budget_between_definitions() -> None:
    source = "def f():\n    pass\n\n‸\n\ndef g():\n    return 1\n"
    assert plan_suffix(source, "python") == "\n\ndef g():\n    return 1\n"
    assert plan_suffix(source, "python", budget=2) == "\n\ndef g():\n"


def test_javascript_suffix_ends_with_enclosing_function() -> None:
    source = "function a() {\n  if (x) {‸\n  }\n  return 1;\n}\n\nfunction b() {}\n"
    assert plan_suffix(source, "javascript") == "\n  }\n  return 1;\n}\n"


def test_exported_typescript_function() -> None:
    source = "export function a(): void {\n  ‸\n}\nexport const b = 1;\n"
    assert plan_suffix(source, "typescript") == "\n}\n"


def test_go_suffix_ends_with_enclosing_function() -> None:
    source = "package main\n\nfunc a() {\n\t‸\n}\n\nfunc b() {\n}\n"
    assert plan_suffix(source, "go") == "\n}\n"


def test_rust_impl_is_the_unit() -> None:
    source = (
        "struct S;\n\nimpl S {\n    fn a(&self) {\n        ‸\n    }\n\n    fn b(&self) {}\n}\n\n"
        "fn main() {}\n"
    )
    assert plan_suffix(source, "rust") == "\n    }\n\n    fn b(&self) {}\n}\n"


def test_java_methods_are_the_units() -> None:
    source = (
        "public class A {\n    int a() {\n        ‸\n    }\n\n    int b() {\n        return 2;\n"
        "    }\n}\n"
    )
    assert plan_suffix(source, "java") == "\n    }\n"


def test_cpp_namespace_is_looked_through() -> None:
    source = "namespace n {\nint a() {\n    ‸\n}\nint b() { return 2; }\n}\n"
    assert plan_suffix(source, "cpp") == "\n}\n"


def test_c_function_unit() -> None:
    source = "#include <stdio.h>\n\nint a(void) {\n    ‸\n}\n\nint b(void) { return 1; }\n"
    assert plan_suffix(source, "c") == "\n}\n"


def test_plaintext_suffix_ends_before_next_unindented_line() -> None:
    source = "section one\n    item ‸\n    item two\n\n    item three\nsection two\n    item\n"
    assert plan_suffix(source, "plaintext") == "\n    item two\n\n    item three\n"


def test_plaintext_suffix_keeps_at_least_one_line_and_closing_brace() -> None:
    assert plan_suffix("a\n‸\nb\nc\n", "plaintext") == "\nb\n"
    assert plan_suffix("proc x {\n    ‸\n}\nproc y {\n}\n", "tcl") == "\n}\n"


def test_anchored_prefix_start_stays_put_while_typing() -> None:
    from context.prompt_window import prefix_window

    text = "".join(f"value_{n} = compute({n}, {n * 3})\n" for n in range(400))
    starts = set()
    for typed in range(1, 40):
        edited = text + "result = comp"[: typed % 13] + "x" * typed
        window = prefix_window(edited, len(edited), len, 3000, anchor_lines=32)
        start = len(edited) - len(window)
        assert edited.count("\n", 0, start) % 32 == 0
        assert len(window) <= 3000
        starts.add(start)
    assert len(starts) <= 2
