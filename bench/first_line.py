"""Cross-file answers scored on their first line, as CrossCodeEval scores line completions.

`bench/crossfile.py` counts an answer exact only when it is the rest of the line and nothing
more, so a right line followed by a body the model went on to write counts as a miss. This
script reads a saved run (`--answers`), keeps each answer's first line, and pairs the first two
configurations hole by hole, without asking the model again:

    python bench/first_line.py py450.json

Several files merge (a run made with `--baseline-from` holds only its new configurations);
`--pair` names the two to compare, and `--whole` scores whole answers as `bench/crossfile.py`
does, so that two configurations run apart can be paired directly:

    python bench/first_line.py py200.json py200-768.json --pair "all sources,ctx 768" --whole
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


def _hole_key(answer: dict[str, Any]) -> tuple[object, ...]:
    """Which hole an answer is to: its place in the file where the record says (runs made
    apart pair by it), else its number in the sample."""
    if "path" in answer:
        return (answer["run"], answer["path"], answer["line"], answer["typed"])
    return (answer["run"], answer["hole"])


def paired_answers(
    answers: list[dict[str, Any]], chosen: tuple[str, str] | None = None
) -> tuple[list[str], list[list[dict[str, Any]]]]:
    """Two configurations (`chosen`, else the first two in the order they were run) and the
    holes both answered: per hole, the baseline's answer then the other's."""
    configs: list[str] = []
    by_hole: dict[tuple[object, ...], dict[str, dict[str, Any]]] = defaultdict(dict)
    for answer in answers:
        if answer["config"] not in configs:
            configs.append(answer["config"])
        by_hole[_hole_key(answer)][answer["config"]] = answer
    if chosen is not None:
        unknown = [name for name in chosen if name not in configs]
        if unknown:
            raise SystemExit(f"no configuration {unknown[0]!r} in the answers: {configs}")
        configs = list(chosen)
    if len(configs) < 2:
        raise SystemExit("the answers hold one configuration: nothing to pair")
    baseline, treated = configs[:2]
    pairs = [
        [found[baseline], found[treated]]
        for _, found in sorted(by_hole.items())
        if baseline in found and treated in found
    ]
    return [baseline, treated], pairs


def report(
    answers: list[dict[str, Any]], chosen: tuple[str, str] | None = None, whole: bool = False
) -> str:
    """Exact match and edit similarity of first lines (`whole`: of whole answers) per
    configuration, and the paired difference of the second against the first with its 95%
    bootstrap interval."""
    configs, pairs = paired_answers(answers, chosen)
    kept = (lambda text: text) if whole else first_line
    exact = [[float(kept(a["got"]) == a["expected"]) for a in pair] for pair in pairs]
    similar = [[edit_similarity(kept(a["got"]), a["expected"]) for a in pair] for pair in pairs]
    scored = "whole answer" if whole else "first line of each answer"
    rows = [
        f"{len(pairs)} holes answered by both; {scored}",
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
    parser.add_argument(
        "answers", nargs="+", help="files written by bench/crossfile.py --answers (merged)"
    )
    parser.add_argument(
        "--pair",
        type=lambda text: tuple(name.strip() for name in text.split(",")),
        help="BASELINE,OTHER: the two configurations to pair (default: the first two)",
    )
    parser.add_argument(
        "--whole", action="store_true", help="score whole answers, as bench/crossfile.py does"
    )
    args = parser.parse_args()
    if args.pair is not None and len(args.pair) != 2:
        parser.error("--pair takes two configuration names, comma-separated")
    answers = [
        answer
        for path in args.answers
        for answer in json.loads(Path(path).read_text(encoding="utf-8"))
    ]
    print(report(answers, args.pair, args.whole))


if __name__ == "__main__":
    main()
