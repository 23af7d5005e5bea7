"""The document predicted after a suggestion is accepted and Enter pressed."""

from __future__ import annotations

from context.next_line import after_enter


def test_enter_after_a_statement_keeps_the_line_indentation() -> None:
    text = "def f(a):\n    total = \n    return total\n"
    offset = text.index("= ") + 2
    predicted = after_enter(text, offset, "a + 1", 0, "python")
    assert predicted is not None
    assert predicted.text == "def f(a):\n    total = a + 1\n    \n    return total\n"
    assert predicted.text[: predicted.offset].endswith("a + 1\n    ")


def test_enter_after_a_block_opener_goes_one_step_deeper() -> None:
    text = "def f(items):\n    for item in \n"
    offset = text.index("in ") + 3
    predicted = after_enter(text, offset, "items:", 0, "python")
    assert predicted is not None
    assert predicted.text == "def f(items):\n    for item in items:\n        \n"
    assert predicted.offset == len("def f(items):\n    for item in items:\n        ")


def test_braces_and_tabs() -> None:
    text = "function f() {\n\tif (x) \n}\n"
    offset = text.index("(x) ") + 4
    predicted = after_enter(text, offset, "{", 0, "javascript")
    assert predicted is not None
    assert predicted.text == "function f() {\n\tif (x) {\n\t\t\n}\n"


def test_a_suggestion_that_ends_the_line_is_followed() -> None:
    text = "print(\n"
    predicted = after_enter(text, 6, "value)", 0, "python")
    assert predicted is not None and predicted.text == "print(value)\n\n"


def test_unpredictable_cases_give_none() -> None:
    text = "x = f()\n"
    assert after_enter(text, 6, "a", 0, "python") is None  # ")" stays right of the cursor
    assert after_enter("x = \n", 4, "1\ny = 2", 0, "python") is None  # multi-line
    assert after_enter("x = \n", 4, "  ", 0, "python") is None  # nothing visible
    assert after_enter("x = \r\n", 4, "1", 0, "python") is None  # CRLF: left alone
    assert after_enter("x = f()\n", 6, "a)", 1, "python") is not None  # ")" replaced


def test_typing_towards_the_prediction_is_on_the_way_and_anything_else_is_not() -> None:
    text = "def f(a):\n    total = \n"
    offset = text.index("= ") + 2
    predicted = after_enter(text, offset, "a + 1", 0, "python")
    assert predicted is not None
    assert predicted.on_the_way(text, offset, text)
    assert predicted.on_the_way(text, offset, text[:offset] + "a +" + text[offset:])
    assert predicted.on_the_way(text, offset, predicted.text)
    assert not predicted.on_the_way(text, offset, text[:offset] + "b" + text[offset:])
    assert not predicted.on_the_way(text, offset, text.replace("def f", "def g"))
