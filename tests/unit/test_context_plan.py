"""Tests for plan_completion: mode decisions, refusals and prompt windows."""

from __future__ import annotations

import pytest

from context import CompletionMode, CompletionPlan, plan_completion

CURSOR = "‸"


def words(text: str) -> int:
    return len(text.split())


def split_cursor(source: str) -> tuple[str, int]:
    offset = source.index(CURSOR)
    return source.replace(CURSOR, "", 1), offset


def plan(
    source: str, language_id: str, prefix_tokens: int = 1000, suffix_tokens: int = 1000
) -> CompletionPlan | None:
    text, offset = split_cursor(source)
    return plan_completion(text, offset, language_id, words, prefix_tokens, suffix_tokens)


def mode_of(source: str, language_id: str) -> CompletionMode | None:
    result = plan(source, language_id)
    return None if result is None else result.mode


PY_FUNC = "def f(a, b):\n    total = a + b\n{line}\n    return total\n\n\ndef g():\n    pass\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    total = combine(a‸, b)", CompletionMode.LINE),
        ("    total = combine(‸)", CompletionMode.LINE),
        ("    ‸", CompletionMode.BLOCK),
        ("‸", CompletionMode.BLOCK),
        ("    if total > 10:‸", CompletionMode.BLOCK),
        ("    items = [‸", CompletionMode.BLOCK),
        ("    total = ‸", CompletionMode.LINE),
        ('    name = "hello ‸world"', CompletionMode.SHORT),
        ('    name = f"{total‸}"', CompletionMode.LINE),
        ("    # compute the ‸", CompletionMode.SHORT),
        ("    total = a  # trailing comment‸", CompletionMode.SHORT),
        ('    name = "unterminated ‸', CompletionMode.SHORT),
        ('    name = "closed"‸', CompletionMode.LINE),
        ("    tot‸al = 1", None),
        ("    ‸total = 1", None),
        ("    x = 1; ‸y = 2", None),
    ],
)
def test_python_modes(line: str, expected: CompletionMode | None) -> None:
    assert mode_of(PY_FUNC.format(line=line), "python") is expected


def test_python_docstring_is_short() -> None:
    source = 'def f():\n    """Return the ‸\n    answer."""\n    return 42\n'
    assert mode_of(source, "python") is CompletionMode.SHORT


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("function f() {‸\n}\n", CompletionMode.BLOCK),
        ("const f = () =>‸\n", CompletionMode.BLOCK),
        ("function f() {\n  const s = `a ${‸}`;\n}\n", CompletionMode.LINE),
        ("function f() {\n  const s = `hello ‸`;\n}\n", CompletionMode.SHORT),
        ("// explain ‸\nfoo();\n", CompletionMode.SHORT),
        ("/* done */‸\nfoo();\n", CompletionMode.LINE),
        ("call(‸);\n", CompletionMode.LINE),
        ("const xs = [‸];\n", CompletionMode.LINE),
        ("const s = '‸';\n", CompletionMode.SHORT),
        ("const value = comp‸uted;\n", None),
    ],
)
def test_javascript_modes(source: str, expected: CompletionMode | None) -> None:
    assert mode_of(source, "javascript") is expected


@pytest.mark.parametrize("language_id", ["typescript", "typescriptreact"])
def test_typescript_modes(language_id: str) -> None:
    assert mode_of("function f(x: number): number {‸\n}\n", language_id) is CompletionMode.BLOCK
    assert mode_of("const n: number = ‸\n", language_id) is CompletionMode.LINE
    assert mode_of("const n = fetch(url, ‸);\n", language_id) is CompletionMode.LINE
    assert mode_of("// TODO: ‸\n", language_id) is CompletionMode.SHORT


def test_go_modes_with_emoji() -> None:
    source = 'package main\n\nfunc main() {\n\tmsg := "héllo 😀 ‸"\n}\n'
    result = plan(source, "go")
    assert result is not None
    assert result.mode is CompletionMode.SHORT
    assert result.line_prefix == '\tmsg := "héllo 😀 '
    assert result.rest_of_line == '"'
    assert mode_of("package main\n\nfunc main() {‸\n}\n", "go") is CompletionMode.BLOCK


def test_rust_modes_with_cjk_and_lifetimes() -> None:
    source = 'fn main() {\n    let s = "日本‸語";\n}\n'
    result = plan(source, "rust")
    assert result is not None
    assert result.mode is CompletionMode.SHORT
    assert result.line_prefix == '    let s = "日本'
    assert result.rest_of_line == '語";'
    lifetimes = "fn pick<'a>(x: &'a str) -> &'a str {‸\n}\n"
    assert mode_of(lifetimes, "rust") is CompletionMode.BLOCK
    assert mode_of("fn main() {\n    let v = vec![‸];\n}\n", "rust") is CompletionMode.LINE


def test_java_modes() -> None:
    source = "class A {\n  int f() {\n    int x = compute(‸);\n    return x;\n  }\n}\n"
    assert mode_of(source, "java") is CompletionMode.LINE
    assert mode_of("class A {\n  // note ‸\n}\n", "java") is CompletionMode.SHORT
    assert mode_of("class A {\n  void f() {‸\n  }\n}\n", "java") is CompletionMode.BLOCK


def test_c_and_cpp_modes() -> None:
    loop = "int main(void) {\n    for (int i = 0; i < n; i++) {‸\n    }\n}\n"
    assert mode_of(loop, "c") is CompletionMode.BLOCK
    assert mode_of("/* describe ‸ here */\nint x;\n", "c") is CompletionMode.SHORT
    assert mode_of('int main() {\n    printf("%d‸\\n", 1);\n}\n', "c") is CompletionMode.SHORT
    assert mode_of("int main() {\n    std::vector<int> v{‸};\n}\n", "cpp") is CompletionMode.LINE


def test_plaintext_modes() -> None:
    assert mode_of("Dear team,\n‸\n", "plaintext") is CompletionMode.BLOCK
    assert mode_of("The quick brown‸\n", "plaintext") is CompletionMode.LINE
    assert mode_of("The qu‸ick\n", "plaintext") is None
    assert mode_of("It's a ‸\n", "plaintext") is CompletionMode.LINE


def test_unknown_language_uses_plain_text_handling() -> None:
    source = "PROCEDURE DIVISION.\n    DISPLAY 'HI'.\n    ‸\nSTOP RUN.\n"
    result = plan(source, "cobol")
    assert result is not None
    assert result.language_id == "cobol"
    assert result.mode is CompletionMode.BLOCK
    assert result.max_lines > 1


def test_line_fields_and_max_lines() -> None:
    result = plan("x = 1\ny = compute(‸)\nz = 3\n", "python")
    assert result is not None
    assert result.line_prefix == "y = compute("
    assert result.rest_of_line == ")"
    assert result.max_lines == 1
    assert result.prefix.startswith("x = 1\n")
    assert result.suffix.startswith(")\n")


def test_crlf_rest_of_line_has_no_carriage_return() -> None:
    result = plan("x = foo(‸)\r\ny = 2\r\n", "python")
    assert result is not None
    assert result.rest_of_line == ")"


def test_offset_bounds() -> None:
    text = "x = 1\n"
    with pytest.raises(ValueError):
        plan_completion(text, -1, "python", words, 10, 10)
    with pytest.raises(ValueError):
        plan_completion(text, len(text) + 1, "python", words, 10, 10)
    at_end = plan_completion(text, len(text), "python", words, 10, 10)
    assert at_end is not None
    assert at_end.mode is CompletionMode.BLOCK
    assert at_end.suffix == ""
    assert plan_completion("", 0, "python", words, 10, 10) is not None


def test_offsets_are_code_points_not_bytes() -> None:
    source = "s = '😀😀😀'  # 日本語 ‸\nt = 1\n"
    result = plan(source, "python")
    assert result is not None
    assert result.mode is CompletionMode.SHORT
    assert result.line_prefix == "s = '😀😀😀'  # 日本語 "
    assert result.prefix.endswith("日本語 ")


@pytest.mark.parametrize(
    ("language_id", "source"),
    [
        ("python", "def add(a, b):\n    return <|>\n\n\ndef sub(a, b):\n    return a - b\n"),
        ("typescript", "function add(a, b) {\n  return a + b;\n}  <|>\n\nfunction sub() {}\n"),
    ],
)
def test_suffix_ends_with_the_unit_the_cursor_line_ends(language_id: str, source: str) -> None:
    """Trailing spaces after a unit's last token keep the cursor in that unit: the next
    function is not shown as what follows."""
    result = plan(source.replace("<|>", CURSOR), language_id)
    assert result is not None
    assert "sub" not in result.suffix
