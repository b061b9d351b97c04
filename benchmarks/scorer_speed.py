"""Benchmark the WideSearch scorer on all 200 WideSearch gold tables scored against themselves.

    python benchmarks/scorer_speed.py [--data DIR] [--passes 2]

Loads the tasks and gold tables (``../shared/data/widesearch`` by default), renders every gold
table as a fenced markdown table, and scores it against its own gold with the deterministic
parts only (``llm_judge`` columns through the deterministic :class:`evals.FallbackJudge`), in
official mode and in strict mode. The first official pass includes dateparser's cold start
(date cells are parsed once per distinct text and cached); later passes are warm. Prints
tasks/s per pass and how many tables scored success 1. The last line of output is one JSON
object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evals import FallbackJudge, Task, load_tasks, render_markdown_table, score_response

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "widesearch"


def render(task: Task) -> str:
    assert task.gold_text is not None
    return render_markdown_table(task.gold_text.columns, task.gold_text.rows)


def timed_pass(tasks: list[tuple[Task, str]], *, strict: bool) -> tuple[float, int]:
    judge = FallbackJudge()
    start = time.perf_counter()
    successes = sum(
        score_response(task, None, text, judge, strict=strict).success == 1.0
        for task, text in tasks
    )
    return time.perf_counter() - start, successes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--passes", type=int, default=2, help="official-mode passes (>= 1)")
    args = parser.parse_args()
    jsonl = args.data / "widesearch.jsonl"
    if not jsonl.exists():
        print(f"WideSearch data not found at {args.data}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    tasks, problems = load_tasks(jsonl, args.data / "widesearch_gold")
    load_s = time.perf_counter() - start
    rendered = [(task, render(task)) for task in tasks]
    cells = sum(len(t.gold_text.rows) * len(t.gold_text.columns) for t in tasks if t.gold_text)
    print(
        f"loaded {len(tasks)} tasks ({cells:,} gold cells) in {load_s:.2f} s; problems: "
        f"{len(problems)}"
    )

    official: list[float] = []
    official_ok = 0
    for number in range(max(1, args.passes)):
        seconds, official_ok = timed_pass(rendered, strict=False)
        official.append(seconds)
        label = "cold" if number == 0 else "warm"
        print(
            f"official pass {number + 1} ({label}): {seconds:.2f} s, "
            f"{len(rendered) / seconds:.1f} tasks/s, success 1 for {official_ok}/{len(rendered)}"
        )
    strict_s, strict_ok = timed_pass(rendered, strict=True)
    print(
        f"strict: {strict_s:.2f} s, {len(rendered) / strict_s:.1f} tasks/s, "
        f"success 1 for {strict_ok}/{len(rendered)}"
    )
    figures = {
        "tasks": len(rendered),
        "gold_cells": cells,
        "load_s": round(load_s, 3),
        "official_cold_tasks_per_s": round(len(rendered) / official[0], 1),
        "official_warm_tasks_per_s": round(len(rendered) / min(official[1:] or official), 1),
        "official_success": official_ok,
        "strict_tasks_per_s": round(len(rendered) / strict_s, 1),
        "strict_success": strict_ok,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
