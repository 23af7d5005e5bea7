"""Document-anchored prefixes: where the anchors fall, how they survive edits, and the bounds
of the prefix a cursor gets (one token per word, as a stand-in for a tokenizer)."""

from __future__ import annotations

import random

from context.prompt_window import DocumentSegments, anchored_prefix


def words(text: str) -> int:
    return len(text.split())


def python_like(functions: int, seed: int = 7) -> str:
    """Top-level functions of indented lines of various lengths."""
    chance = random.Random(seed)
    lines: list[str] = []
    for index in range(functions):
        lines.append(f"def function_{index}(value):\n")
        for _ in range(chance.randint(3, 9)):
            body = " ".join(f"w{chance.randint(0, 99)}" for _ in range(chance.randint(1, 7)))
            lines.append(f"    {body}\n")
        lines.append("\n")
    return "".join(lines)


def add_word_on_line(text: str, line: int) -> str:
    lines = text.splitlines(keepends=True)
    lines[line] = lines[line].replace("\n", " extra\n", 1)
    return "".join(lines)


def anchor_texts(segments: DocumentSegments) -> list[str]:
    return [segments._line(anchor) for anchor in segments.anchors]


def test_the_first_anchor_is_the_top_and_segments_hold_about_a_stride() -> None:
    text = python_like(120)
    segments = DocumentSegments(text, words, stride=100)
    assert segments.anchors[0] == 0
    assert len(segments.anchors) > 5
    lines = text.splitlines(keepends=True)
    longest_line = max(words(line) for line in lines)
    for first, second in zip(segments.anchors, segments.anchors[1:], strict=False):
        held = segments.cumulative[second] - segments.cumulative[first]
        assert 100 <= held < 100 + segments.band + longest_line
    # Where a top-level line lies within the band after the stride, the segment starts there.
    top_level = 0
    for first, second in zip(segments.anchors, segments.anchors[1:], strict=False):
        threshold = segments.cumulative[first] + 100
        in_band = [
            index
            for index, tokens in enumerate(segments.cumulative)
            if threshold <= tokens < threshold + segments.band and index < len(lines)
        ]
        defs = [index for index in in_band if lines[index].startswith("def ")]
        if defs:
            assert second == defs[0]
            top_level += 1
    assert top_level >= len(segments.anchors) // 2


def test_a_one_token_edit_above_moves_no_anchor_where_a_plain_cut_would() -> None:
    text = python_like(60)
    probe = DocumentSegments(text, words, stride=10_000)
    lines = text.splitlines(keepends=True)
    # A stride that puts an indented line start one token short of the first cut, so a
    # plain "first line start at or after the stride" cut moves when a token is added above.
    candidates = [
        index
        for index in range(40, len(lines) - 12)
        if lines[index].startswith("    ") and lines[index - 1].startswith("    ")
    ]
    edited_line = 2
    moved_plain = 0
    for index in candidates[:20]:
        stride = probe.cumulative[index] + 1
        plain_before = DocumentSegments(text, words, stride, band=0).anchors
        plain_after = DocumentSegments(add_word_on_line(text, edited_line), words, stride, band=0)
        moved_plain += plain_before != plain_after.anchors
        before = DocumentSegments(text, words, stride)
        after = DocumentSegments(add_word_on_line(text, edited_line), words, stride)
        assert after.anchors == before.anchors, stride
        assert anchor_texts(after)[1:] == anchor_texts(before)[1:]
    assert moved_plain == len(candidates[:20])  # the test cases are ones a plain cut fails


def test_an_inserted_line_above_shifts_the_anchors_by_one_line_and_keeps_their_text() -> None:
    text = python_like(80)
    before = DocumentSegments(text, words, stride=120)
    lines = text.splitlines(keepends=True)
    added = "    one more line here\n"
    # The guarantee's condition: no top-level line sits within the added tokens before the
    # start of the first anchor's band (it would then be pushed into the band and chosen).
    pushed = [
        index
        for index, tokens in enumerate(before.cumulative[:-1])
        if 120 - words(added) <= tokens < 120 and lines[index].startswith("def ")
    ]
    assert pushed == []
    inserted = "".join(lines[:3]) + added + "".join(lines[3:])
    after = DocumentSegments(inserted, words, stride=120)
    assert after.anchors[1:] == [anchor + 1 for anchor in before.anchors[1:]]
    assert anchor_texts(after) == anchor_texts(before)


def test_an_edit_changes_no_anchor_above_it() -> None:
    text = python_like(80)
    before = DocumentSegments(text, words, stride=120)
    edited_line = before.anchors[4] + 2
    lines = text.splitlines(keepends=True)
    lines[edited_line] = "    " + " ".join(["many"] * 60) + "\n"
    after = DocumentSegments("".join(lines), words, stride=120)
    assert after.anchors[:5] == before.anchors[:5]


def test_every_cursor_gets_a_prefix_within_the_budget_and_at_least_about_a_stride() -> None:
    text = python_like(100)
    stride = 100
    budget = 2 * stride
    segments = DocumentSegments(text, words, stride)
    longest_line = max(words(line) for line in text.splitlines())
    for line, start in enumerate(segments.line_starts):
        offset = min(start + 5, len(text))
        if segments.line_of(offset) != line:
            offset = start
        found = segments.anchored_prefix(offset, budget)
        assert found is not None
        assert found.prefix == text[found.anchor_offset : offset]
        assert found.anchor_offset == segments.line_starts[found.anchor_line]
        assert found.tokens == words(text[found.anchor_offset : start]) <= budget
        if segments.cumulative[line] <= budget:
            assert found.anchor_line == 0
        else:
            assert found.tokens > budget - stride - segments.band - longest_line


def test_the_prefix_is_none_when_the_nearest_anchor_is_over_budget() -> None:
    text = python_like(20)
    segments = DocumentSegments(text, words, stride=10_000)
    assert segments.anchors == [0]
    end = len(text)
    assert segments.anchored_prefix(end, budget=50) is None
    assert anchored_prefix(text, end, words, budget=50, stride=10_000) is None
    assert anchored_prefix(text, end, words, budget=10_000, stride=10_000) is not None


def test_a_minified_line_starts_a_segment_after_it() -> None:
    text = python_like(3) + "x = [" + ", ".join(["1"] * 3000) + "]\n" + python_like(3, seed=9)
    segments = DocumentSegments(text, words, stride=200)
    giant = next(i for i, s in enumerate(segments.line_starts) if text.startswith("x = [", s))
    assert giant + 1 in segments.anchors
    found = segments.anchored_prefix(len(text), budget=400)
    assert found is not None and found.anchor_line == giant + 1
    assert "x = [" not in found.prefix


def test_a_run_holds_the_prefix_of_every_cursor_that_takes_its_anchor() -> None:
    text = python_like(100)
    budget = 200
    segments = DocumentSegments(text, words, stride=100)
    chosen = []
    for line, start in enumerate(segments.line_starts):
        found = segments.anchored_prefix(start, budget)
        assert found is not None
        chosen.append(found.anchor_line)
        run = segments.run_text(found.anchor_line, budget)
        assert run.startswith(found.prefix)
        assert words(run) <= budget
        assert run == "" or run.endswith("\n")
        del line
    assert segments.run_anchors(budget) == sorted(set(chosen))
    # Runs overlap by budget - stride at most, so together they hold about budget / stride
    # times the document.
    total = sum(words(segments.run_text(a, budget)) for a in segments.run_anchors(budget))
    assert total < 2.2 * words(text)


def test_a_new_version_counts_only_the_lines_the_previous_one_lacked() -> None:
    text = python_like(40)
    before = DocumentSegments(text, words, stride=100)
    lines = text.splitlines(keepends=True)
    lines[10] = "    changed line here\n"
    counted: list[str] = []

    def counting(line: str) -> int:
        counted.append(line)
        return words(line)

    after = DocumentSegments("".join(lines), counting, stride=100, previous=before)
    assert counted == ["    changed line here\n"]
    assert after.cumulative == DocumentSegments("".join(lines), words, stride=100).cumulative
