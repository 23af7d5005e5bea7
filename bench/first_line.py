"""Cross-file answers scored on their first line, as CrossCodeEval scores line completions.

`bench/crossfile.py` counts an answer exact only when it is the rest of the line and nothing
more, so a right line followed by a body the model went on to write counts as a miss. This
script reads a saved run (`--answers`), keeps each answer's first line, and pairs the first two
configurations hole by hole, without asking the model again:

    python bench/first_line.py py450.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from crossfile import edit_similarity, paired_interval


def first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def paired_answers(answers: list[dict[str, Any]]) -> tuple[list[str], list[list[dict[str, Any]]]]:
    """The first two configurations, in the order they were run, and the holes both answered:
    per hole, the baseline's answer then the other's."""
    configs: list[str] = []
    by_hole: dict[tuple[int, int], dict[str, dict[str, Any]]] = defaultdict(dict)
    for answer in answers:
        if answer["config"] not in configs:
            configs.append(answer["config"])
        by_hole[(answer["run"], answer["hole"])][answer["config"]] = answer
    if len(configs) < 2:
        raise SystemExit("the answers hold one configuration: nothing to pair")
    baseline, treated = configs[:2]
    pairs = [
        [found[baseline], found[treated]]
        for _, found in sorted(by_hole.items())
        if baseline in found and treated in found
    ]
    return [baseline, treated], pairs


def report(answers: list[dict[str, Any]]) -> str:
    """Exact match and edit similarity of first lines per configuration, and the paired
    difference of the second against the first with its 95% bootstrap interval."""
    configs, pairs = paired_answers(answers)
    exact = [[float(first_line(a["got"]) == a["expected"]) for a in pair] for pair in pairs]
    similar = [
        [edit_similarity(first_line(a["got"]), a["expected"]) for a in pair] for pair in pairs
    ]
    rows = [
        f"{len(pairs)} holes answered by both; first line of each answer",
        "",
        "| context | exact match | vs first | won / lost | edit similarity | vs first "
        "| answers of more than one line |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, config in enumerate(configs):
        em = [pair[index] for pair in exact]
        es = [pair[index] for pair in similar]
        multi = sum("\n" in pair[index]["got"] for pair in pairs)
        versus = ["", "", ""]
        if index:
            won = sum(pair[1] > pair[0] for pair in exact)
            lost = sum(pair[1] < pair[0] for pair in exact)
            versus = [
                paired_interval(em, [pair[0] for pair in exact]),
                f"{won} / {lost}",
                paired_interval(es, [pair[0] for pair in similar]),
            ]
        rows.append(
            f"| {config} | {100 * sum(em) / len(em):.1f}% | {versus[0]} | {versus[1]} "
            f"| {100 * sum(es) / len(es):.1f} | {versus[2]} | {multi} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("answers", help="a file written by bench/crossfile.py --answers")
    args = parser.parse_args()
    print(report(json.loads(Path(args.answers).read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
