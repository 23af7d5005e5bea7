"""Tests for CompletionFinisher: early stopping and post-processing."""

from __future__ import annotations

from context import CompletionFinisher, CompletionMode, Suggestion, plan_completion

CURSOR = "‸"


def words(text: str) -> int:
    return len(text.split())


def finisher(source: str, language_id: str) -> CompletionFinisher:
    offset = source.index(CURSOR)
    text = source.replace(CURSOR, "", 1)
    plan = plan_completion(text, offset, language_id, words, 1000, 1000)
    assert plan is not None
    return CompletionFinisher(plan, text, offset)


def stream(
    source: str, language_id: str, pieces: list[str]
) -> tuple[list[bool], Suggestion | None]:
    """Feed pieces until the finisher asks to stop; return the feed answers and the result."""
    target = finisher(source, language_id)
    answers: list[bool] = []
    for piece in pieces:
        answers.append(target.feed(piece))
        if answers[-1]:
            break
    return answers, target.finish()


PY = "def f(a, b):\n    total = a + b\n{line}\n    return total\n\n\ndef g():\n    pass\n"


def test_line_mode_stops_exactly_at_newline() -> None:
    source = PY.format(line="    total = max(‸")
    answers, result = stream(source, "python", ["a", ", b", ")\n", "junk"])
    assert answers == [False, False, True]
    assert result == Suggestion("a, b)", 0)


def test_line_mode_newline_inside_a_piece() -> None:
    answers, result = stream(PY.format(line="    total = ‸"), "python", ["a * b\n    x", "y"])
    assert answers == [True]
    assert result == Suggestion("a * b", 0)


def test_feed_after_done_keeps_answering_true() -> None:
    target = finisher(PY.format(line="    total = ‸"), "python")
    assert target.feed("1\n")
    assert target.feed("more")
    assert target.finish() == Suggestion("1", 0)


def test_short_mode_stops_at_newline_and_length() -> None:
    source = "def f():\n    # compute ‸\n    pass\n"
    answers, result = stream(source, "python", ["the sum", "\n", "x"])
    assert answers == [False, True]
    assert result == Suggestion("the sum", 0)
    target = finisher(source, "python")
    fed = [target.feed("word ") for _ in range(40)]
    assert fed.index(True) == 23
    result = target.finish()
    assert result is not None and len(result.text) <= 120


def test_closing_bracket_is_superseded() -> None:
    source = PY.format(line="    total = combine(‸)")
    _, result = stream(source, "python", ["a, b)", "\n"])
    assert result == Suggestion("a, b)", 1)
    _, result = stream(source, "python", ["a, b", "\n"])
    assert result == Suggestion("a, b", 0)
    _, result = stream(source, "python", ["inner()", "\n"])
    assert result == Suggestion("inner()", 0)


def test_closers_contained_in_order_are_superseded() -> None:
    source = "def f(‸):\n    pass\n"
    _, result = stream(source, "python", ["x):", "\n"])
    assert result == Suggestion("x):", 2)
    js = "function f() {\n  if (‸)\n}\n"
    _, result = stream(js, "javascript", ["ready) {", "\n"])
    assert result is not None and result.replace_chars == 1


def test_string_closing_quote_superseded_in_short_mode() -> None:
    _, result = stream('s = "‸"\n', "python", ['hello"', "\n"])
    assert result == Suggestion('hello"', 1)


def test_duplicated_space_after_line_prefix_is_removed() -> None:
    _, result = stream("x = ‸\n", "python", [" 1", "\n"])
    assert result == Suggestion("1", 0)


def test_repeat_of_rest_of_line_or_next_line_is_dropped() -> None:
    _, result = stream(PY.format(line="    total = combine(‸)"), "python", [")\n"])
    assert result is None
    source = "def f():\n    ‸\n    return total\n"
    _, result = stream(source, "python", ["return total\n"])
    assert result is None


def test_block_ends_at_dedent_and_excludes_the_line() -> None:
    source = PY.format(line="    ‸")
    pieces = ["check(a)\n", "    if total:\n", "        total += 1\n", "\n", "def h():\n", "never"]
    answers, result = stream(source, "python", pieces)
    assert answers == [False, False, False, False, True]
    assert result == Suggestion("check(a)\n    if total:\n        total += 1", 0)


def test_block_after_opener_starts_with_newline() -> None:
    source = "def f(a):‸\n\n\ndef g():\n    pass\n"
    answers, result = stream(source, "python", ["\n", "    return a * 2\n", "\n", "def g():\n"])
    assert answers == [False, False, False, True]
    assert result == Suggestion("\n    return a * 2", 0)


def test_block_closing_brace_at_lower_indent_is_excluded() -> None:
    source = "function f(a) {\n  ‸\n}\n"
    answers, result = stream(source, "javascript", ["const b = a + 1;\n", "  return b;\n", "}\n"])
    assert answers == [False, False, True]
    assert result == Suggestion("const b = a + 1;\n  return b;", 0)


def test_block_stops_when_suffix_first_line_is_repeated() -> None:
    source = "func f() int {\n\t‸\n\treturn total\n}\n"
    answers, result = stream(source, "go", ["total := 1\n", "\treturn total\n", "}\n"])
    assert answers == [False, True]
    assert result == Suggestion("total := 1", 0)


def test_block_stops_on_distinctive_later_suffix_line() -> None:
    source = "def f():\n    ‸\n    x = 1\n    y = compute_more(x)\n    return y\n"
    pieces = ["a = 0\n", "    y = compute_more(x)\n", "    return y\n"]
    answers, result = stream(source, "python", pieces)
    assert answers == [False, True]
    assert result == Suggestion("a = 0", 0)


def test_closing_brace_matching_suffix_at_inner_indent_is_kept() -> None:
    source = "function f() {\n  ‸\n}\n"
    pieces = ["if (a) {\n", "    b();\n", "  }\n", "  return 1;\n", "}\n"]
    answers, result = stream(source, "javascript", pieces)
    assert answers == [False, False, False, False, True]
    assert result == Suggestion("if (a) {\n    b();\n  }\n  return 1;", 0)


def test_block_stops_at_max_lines() -> None:
    target = finisher("def f():\n    ‸\n", "python")
    answers = [target.feed(f"    x{index} = {index}\n") for index in range(20)]
    assert answers.index(True) == 15
    result = target.finish()
    assert result is not None
    assert len(result.text.split("\n")) == 16


def test_first_line_over_indentation_is_trimmed_and_block_continues() -> None:
    source = "def f(a):\n    b = a\n    ‸\n"
    answers, result = stream(source, "python", ["    c = b\n", "    return c\n"])
    assert answers == [False, False]
    assert result == Suggestion("c = b\n    return c", 0)


def test_first_line_indentation_after_opener() -> None:
    source = "def f(a):\n‸\n"
    _, result = stream(source, "python", ["        return a\n"])
    assert result == Suggestion("    return a", 0)
    _, result = stream(source, "python", ["  return a\n"])
    assert result == Suggestion("  return a", 0)


def test_leading_blank_lines_dropped_on_blank_cursor_line() -> None:
    _, result = stream("def f():\n    ‸\n", "python", ["\n", "\n", "    return 1\n"])
    assert result == Suggestion("return 1", 0)


def test_trailing_whitespace_and_blank_lines_are_stripped() -> None:
    _, result = stream("def f():\n    ‸\n", "python", ["x = 1   \n", "    return x  \n\n\n"])
    assert result == Suggestion("x = 1\n    return x", 0)


def test_empty_completion_is_none() -> None:
    assert stream("def f():\n    ‸\n", "python", ["   \n", "\n"])[1] is None
    assert stream("x = ‸\n", "python", ["\n"])[1] is None
    target = finisher("x = ‸\n", "python")
    assert target.finish() is None


def test_syntax_error_shortens_block() -> None:
    source = "function f(a) {\n  ‸\n}\n"
    pieces = ["const b = a;\n", "  if (b) {\n", "    go(b);\n"]
    answers, result = stream(source, "javascript", pieces)
    assert answers == [False, False, False]
    assert result == Suggestion("const b = a;", 0)


def test_syntax_error_rejects_single_line() -> None:
    _, result = stream("int main(void) {\n    ‸\n}\n", "c", ["if (x) {\n"])
    assert result is None


def test_broken_document_rejects_only_added_errors() -> None:
    source = "def f(a):\n    x = foo(‸\n\ndef g():\n    pass\n"
    _, result = stream(source, "python", ["a, b)", "\n"])
    assert result == Suggestion("a, b)", 0)
    elsewhere = "def f(a):\n    ‸\n\ndef broken(:\n    pass\n"
    _, result = stream(elsewhere, "python", ["return a\n"])
    assert result == Suggestion("return a", 0)
    _, result = stream(elsewhere, "python", ["return a +\n"])
    assert result is None


def test_typescript_rust_java_cpp_lines() -> None:
    _, result = stream("const n: number = ‸;\n", "typescript", ["42;", "\n"])
    assert result == Suggestion("42;", 1)
    source = "fn main() {\n    let v = vec![‸];\n}\n"
    _, result = stream(source, "rust", ["1, 2, 3];", "\n"])
    assert result == Suggestion("1, 2, 3];", 2)
    _, result = stream(source, "rust", ["1, 2, 3]", "\n"])
    assert result is None
    source = "class A {\n  int f() {\n    return compute(‸);\n  }\n}\n"
    _, result = stream(source, "java", ["1, 2);", "\n"])
    assert result == Suggestion("1, 2);", 2)
    source = "int main() {\n    std::vector<int> v{‸};\n}\n"
    _, result = stream(source, "cpp", ["1, 2", "\n"])
    assert result == Suggestion("1, 2", 0)


def test_emoji_document_line_completion() -> None:
    source = 'fn main() {\n    let s = "😀 日本";\n    println!("{}", ‸);\n}\n'
    _, result = stream(source, "rust", ["s)", ";", "\n"])
    assert result == Suggestion("s);", 2)


def test_plaintext_block() -> None:
    source = "Shopping:\n    - apples\n    ‸\nNotes\n"
    target = finisher(source, "plaintext")
    assert target.feed("- pears\n") is False
    assert target.feed("    - plums\n") is False
    assert target.feed("Notes\n") is True
    assert target.finish() == Suggestion("- pears\n    - plums", 0)


def test_unknown_language_line() -> None:
    target = finisher("local x = ‸\n", "lua")
    assert target.feed("compute()") is False
    assert target.finish() == Suggestion("compute()", 0)


def test_block_mode_plan_is_used() -> None:
    source = "def f():\n    ‸\n"
    offset = source.index(CURSOR)
    plan = plan_completion(source.replace(CURSOR, ""), offset, "python", words, 100, 100)
    assert plan is not None and plan.mode is CompletionMode.BLOCK


def test_a_line_that_opens_a_block_goes_on_with_its_body() -> None:
    source = "def f(ops):\n    for op in o‸\n    return 1\n"
    pieces = ["ps:\n", "        x = op\n", "        y = 2\n", "    return 1\n"]
    done, result = stream(source, "python", pieces)
    assert done == [False, False, False, True]
    assert result == Suggestion("ps:\n        x = op\n        y = 2", 0)


def test_brace_block_body_keeps_its_closing_line() -> None:
    source = "function f(xs) {\n  if (xs.length > 0‸\n  return 1;\n}\n"
    pieces = [") {\n", "    console.log(xs);\n", "  }\n", "  return 1;\n"]
    done, result = stream(source, "javascript", pieces)
    assert done == [False, False, True]
    assert result == Suggestion(") {\n    console.log(xs);\n  }", 0)


def test_a_plain_line_end_is_still_one_line() -> None:
    done, result = stream("x = compute(1‸\ny = 2\n", "python", [", 2)\n", "z = 3\n"])
    assert done == [True]
    assert result == Suggestion(", 2)", 0)


def test_a_block_may_close_inner_blocks_down_to_the_code_that_follows() -> None:
    source = "def count(xs):\n    total = 0\n    for x in xs:\n        if x:\n‸\n    return total\n"
    pieces = ["            total += 1\n", "        print(x)\n", "    return total\n", "x\n"]
    done, result = stream(source, "python", pieces)
    assert done == [False, False, True]
    assert result == Suggestion("            total += 1\n        print(x)", 0)


def test_at_the_end_of_a_definition_a_block_may_reach_its_body() -> None:
    source = "def count(xs):\n    total = 0\n    for x in xs:\n        if x:\n‸\n\n\nprint(1)\n"
    pieces = ["            total += 1\n", "    return total\n", "print(2)\n"]
    done, result = stream(source, "python", pieces)
    assert done == [False, False, True]
    assert result == Suggestion("            total += 1\n    return total", 0)


def test_a_first_line_that_strands_the_code_below_is_refused_and_named() -> None:
    source = (
        "def depth(s):\n    level = 0\n‸\n    for c in s:\n        level += 1\n    return level\n"
    )
    target = finisher(source, "python")
    assert target.feed("    return level\n")
    assert target.finish() is None
    assert target.refused_first_line == "return level"


def test_a_first_line_that_repeats_the_next_line_is_refused_and_named() -> None:
    source = "def greet(name):\n    ‸\n    print(message)\n"
    target = finisher(source, "python")
    target.feed("    print(message)\n")
    assert target.finish() is None
    assert target.refused_first_line == "print(message)"
    target = finisher(source, "python")
    target.feed("    message = f'hello {name}'\n    print(message)\n")
    assert target.finish() == Suggestion("message = f'hello {name}'", 0)
    assert target.refused_first_line is None


def test_a_later_line_that_strands_the_code_below_ends_the_block() -> None:
    source = (
        "def f(xs):\n    total = 0\n‸\n    for x in xs:\n        total += x\n    return total\n"
    )
    done, result = stream(source, "python", ["    seen = set()\n", "    return total\n", "x\n"])
    assert done == [False, True]
    assert result == Suggestion("    seen = set()", 0)


def test_a_return_before_the_next_branch_or_a_closer_is_kept() -> None:
    python = "def sign(x):\n    if x < 0:\n‸\n    else:\n        return 1\n"
    target = finisher(python, "python")
    target.feed("        return -1\n    else:\n")
    assert target.finish() == Suggestion("        return -1", 0)
    assert target.refused_first_line is None
    javascript = "function sign(x) {\n  if (x < 0) {\n‸\n  }\n  return 1;\n}\n"
    target = finisher(javascript, "javascript")
    target.feed("    return -1;\n  }\n")
    assert target.finish() == Suggestion("    return -1;", 0)


def test_a_body_written_one_level_too_shallow_is_moved_under_its_opener() -> None:
    source = (
        "def f(xs):\n    for x in xs:\n        if x is None:\n‸\n        else:\n            g(x)\n"
    )
    pieces = ["        x = 0\n", "        y = 1\n", "    return y\n"]
    done, result = stream(source, "python", pieces)
    assert done == [False, False, True]
    assert result == Suggestion("            x = 0\n            y = 1", 0)


def test_a_block_stops_where_it_copies_a_later_distinctive_suffix_line() -> None:
    source = (
        "def f(xs, ys):\n    ys.reverse()\n‸\n    i = 0\n    n = len(ys)\n"
        "    for x in xs:\n        if i < n and x < ys[i]:\n            i += 1\n    return i\n"
    )
    pieces = ["    count = 0\n", "    for j in range(n):\n", "        if i < n and x < ys[i]:\n"]
    done, result = stream(source, "python", pieces)
    assert done == [False, False, True]
    assert result == Suggestion("    count = 0", 0)


def test_a_dedent_to_no_open_level_ends_the_block() -> None:
    # The model's own answer after `def fibonacci(n):` and the body's indentation: `if` at 4,
    # its body at 12, then `elif` at 8, where no block starts (Python: IndentationError).
    source = "def fibonacci(n):\n    ‸\n\n\nprint(fibonacci(3))\n"
    _, result = stream(
        source,
        "python",
        [
            "if n <= 0:\n",
            '            return "Invalid input"\n',
            "        elif n == 1:\n",
            "            return 0\n",
        ],
    )
    assert result is not None
    assert result.text == 'if n <= 0:\n            return "Invalid input"'


def test_a_block_written_too_deep_moves_left_with_its_first_line() -> None:
    # The model's real answer on the blank body line of `def fibonacci(n):` (the cursor
    # after its 4 spaces): it puts `if` 4 columns deeper and writes the rest relative to it.
    source = "def fibonacci(n):\n    ‸\n\n\nprint(fibonacci(3))\n"
    _, result = stream(
        source,
        "python",
        [
            "    if n <= 0:\n",
            '            return "Invalid input"\n',
            "        elif n == 1:\n",
            "            return 0\n",
            "        return fibonacci(n - 1)\n",
            "\n",
            "print(fibonacci(3))\n",
        ],
    )
    assert result is not None
    assert result.text == (
        'if n <= 0:\n        return "Invalid input"\n    elif n == 1:\n        return 0\n'
        "    return fibonacci(n - 1)"
    )
