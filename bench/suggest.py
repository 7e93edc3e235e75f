"""Suggested responses: top-1 and top-3 accuracy of workstation.suggest on the labelled customer messages.

The set (tests/fixtures/suggest_labelled.jsonl) is split in two halves fixed when it was written:
"dev", the only half looked at while tuning the library's keywords and the ranking, and "test", kept
for the figure. A message counts as a hit when any of its labelled responses is among the first k.

Baselines in the same run, against the same shipped library:
- `canned.search`: the panel's word-containment search fed the whole message (every word must occur);
- containment count: the same accent-folded containment test, ranked by how many of the message's
  words occur (so a long message still ranks something), the customer's language first;
- random: the library in random order (mean of 200 shuffles).
Baselines are given the message's true language; suggest.py guesses it from the text.

    uv run python bench/suggest.py [--misses dev|test|all] [--language given]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workstation import canned  # noqa: E402
from workstation.paths import resources_dir  # noqa: E402
from workstation.suggest import Suggester  # noqa: E402

LABELLED = ROOT / "tests" / "fixtures" / "suggest_labelled.jsonl"
SPLITS = ("dev", "test", "all")

Ranker = Callable[[dict], list[str]]  # a labelled row → response ids, best first


def load_rows(path: Path = LABELLED) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def containment_ranker(library: list[canned.CannedResponse]) -> Ranker:
    haystacks = [(r, canned._fold(" ".join((r.shortcut, r.title, r.category, " ".join(r.keywords), r.body))))
                 for r in library]

    def rank(row: dict) -> list[str]:
        words = {w for w in canned._fold(row["text"]).split() if len(w) > 2}
        scored = [(-sum(w in hay for w in words), r.language != row["language"], r.title.casefold(), r.id)
                  for r, hay in haystacks]
        scored = [s for s in scored if s[0] < 0]
        return [s[3] for s in sorted(scored)]

    return rank


def search_ranker(library: list[canned.CannedResponse]) -> Ranker:
    return lambda row: [r.id for r in canned.search(library, row["text"], language=row["language"])]


def suggest_ranker(suggester: Suggester, *, given_language: bool) -> Ranker:
    def rank(row: dict) -> list[str]:
        language = row["language"] if given_language else None
        return [s.response.id for s in suggester.suggest(row["text"], language=language, k=10)]

    return rank


def accuracy(rows: list[dict], rank: Ranker, k: int) -> float:
    if not rows:
        return 0.0
    return sum(bool(set(rank(row)[:k]) & set(row["labels"])) for row in rows) / len(rows)


def random_accuracy(rows: list[dict], library: list[canned.CannedResponse], k: int, *, runs: int = 200) -> float:
    rng = random.Random(20261124)
    ids = [r.id for r in library]
    results = []
    for _ in range(runs):
        order = {row["id"]: rng.sample(ids, len(ids)) for row in rows}
        results.append(accuracy(rows, lambda row: order[row["id"]], k))
    return statistics.fmean(results)


def split_rows(rows: list[dict], split: str) -> list[dict]:
    return rows if split == "all" else [r for r in rows if r["split"] == split]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", choices=SPLITS, help="list the messages of this split that suggest.py misses in its top 3")
    parser.add_argument("--language", choices=("detected", "given"), default="detected",
                        help="suggest.py guesses the customer's language (default) or is given it")
    args = parser.parse_args()

    library = canned.load_library(resources_dir() / "canned")
    rows = load_rows()
    problems = canned.library_problems(library)
    if problems:
        print("library problems:", *problems, sep="\n  ")
    t0 = time.perf_counter()
    suggester = Suggester(library)
    build_ms = (time.perf_counter() - t0) * 1000
    suggest = suggest_ranker(suggester, given_language=args.language == "given")
    contain = containment_ranker(library)
    search = search_ranker(library)

    t0 = time.perf_counter()
    for row in rows:
        suggest(row)
    per_message_ms = (time.perf_counter() - t0) * 1000 / len(rows)

    langs = sorted({r["language"] for r in rows})
    print(f"library: {len(library)} responses; labelled set: {len(rows)} messages "
          f"({', '.join(str(sum(r['language'] == lang for r in rows)) + ' ' + lang for lang in langs)}), "
          f"dev {len(split_rows(rows, 'dev'))} / test {len(split_rows(rows, 'test'))}")
    print(f"suggest.py: index built in {build_ms:.1f} ms, {per_message_ms:.2f} ms a message; "
          f"language {args.language}\n")
    header = f"{'split':<6}{'n':>5}  {'system':<22}{'top-1':>7}{'top-3':>7}"
    print(header)
    print("-" * len(header))
    figures = {}
    for split in SPLITS:
        subset = split_rows(rows, split)
        systems = {
            "suggest.py (BM25)": (accuracy(subset, suggest, 1), accuracy(subset, suggest, 3)),
            "canned.search": (accuracy(subset, search, 1), accuracy(subset, search, 3)),
            "containment count": (accuracy(subset, contain, 1), accuracy(subset, contain, 3)),
            "random": (random_accuracy(subset, library, 1), random_accuracy(subset, library, 3)),
        }
        figures[split] = systems
        for name, (top1, top3) in systems.items():
            print(f"{split:<6}{len(subset):>5}  {name:<22}{top1:>7.3f}{top3:>7.3f}")
        for lang in langs:
            part = [r for r in subset if r["language"] == lang]
            print(f"{'':<6}{len(part):>5}  {'  suggest.py, ' + lang:<22}"
                  f"{accuracy(part, suggest, 1):>7.3f}{accuracy(part, suggest, 3):>7.3f}")
        print()

    print("ratio of suggest.py to the best word-containment baseline (top-3), and to random:")
    for split in SPLITS:
        s = figures[split]
        ours = s["suggest.py (BM25)"][1]
        base = max(s["canned.search"][1], s["containment count"][1])
        rand = s["random"][1]
        ratio = f"{ours / base:.2f}x" if base else "inf"
        print(f"  {split:<5} top-3 {ours:.3f} vs {base:.3f} = {ratio}; vs random {rand:.3f} = {ours / rand:.1f}x")
    goal = figures["test"]["suggest.py (BM25)"][1]
    print(f"\ngoal: top-3 ≥ 0.80 on the test half: {goal:.3f}, {'met' if goal >= 0.8 else 'not met'}")

    if args.misses:
        print(f"\nmisses in the top 3 ({args.misses}):")
        for row in split_rows(rows, args.misses):
            got = suggest(row)[:3]
            if not set(got) & set(row["labels"]):
                print(f"  {row['id']} {row['text'][:90]!r}\n      want {row['labels']} got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
