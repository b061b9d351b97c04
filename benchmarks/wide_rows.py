"""Wide research's row finding without a model: what reading documents for candidate rows costs,
and how the enumeration's bookkeeping scales with the number of candidates.

    python benchmarks/wide_rows.py [--docs 2000] [--candidates 500 2000 8000] [--json]

- **Rows per document**: `parse_text` + `rows.candidate_rows` + `verdicts.row_verdicts` over the
  first `--docs` documents of each corpus (the SQLite/PostgreSQL manuals as JSONL text and the
  Debian package records from `../shared/bench`), with a plan that asks for a table's rows:
  documents/s and candidate rows per document.
- **Bookkeeping**: `enumeration.fill_sends` (membership statuses, the rows kept, one `Send` per
  row) on synthetic enumerations of N candidates: ms per call. It runs once per wide question
  and must stay linear (it was cubic once: minutes at 700 documents).

Inputs that are missing are skipped with a line saying so. Figures are the best of 3 runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.wide.enumeration import fill_sends  # noqa: E402
from agent.wide.fields import parse_fields  # noqa: E402
from agent.wide.membership import groups  # noqa: E402
from agent.wide.rows import CandidateRow, RowKind, candidate_rows  # noqa: E402
from agent.wide.schemas import Condition  # noqa: E402
from agent.wide.table_plan import Column, TablePlan  # noqa: E402
from agent.wide.verdicts import row_verdicts  # noqa: E402
from retriever.parse_text import parse_text  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
MANUALS = SHARED / "docs" / "corpus"
CORPORA = {
    "manuals": [MANUALS / "postgres-docs.jsonl.gz", MANUALS / "sqlite-docs.jsonl.gz"],
    "debian": [SHARED / "corpus" / "debian.jsonl.gz"],
}
PLAN = TablePlan(
    "item",
    [Column("Name"), Column("Version"), Column("Description")],
    "Name",
    [Condition(field="", test="contains", value="server")],
    [],
)
QUESTION = "List every item with its version and description that mentions the server."


def _documents(paths: list[Path], limit: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths:
        if not path.exists():
            continue
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                docs.append(json.loads(line))
                if len(docs) >= limit:
                    return docs
    return docs


def rows_per_document(docs: list[dict[str, Any]]) -> tuple[float, float]:
    condition_groups = groups(PLAN.conditions)
    best, rows = float("inf"), 0
    for _ in range(3):
        started, rows = time.perf_counter(), 0
        for doc in docs:
            structure = parse_text(doc["text"], title=doc.get("title", ""))
            found = candidate_rows(
                PLAN, QUESTION, doc["id"], doc["text"], doc.get("title", ""), structure
            )
            fields = parse_fields(doc["text"]) if any(r.is_page for r in found) else []
            for row in found:
                row_verdicts(condition_groups, row, doc["text"], doc.get("title", ""), fields)
            rows += len(found)
        best = min(best, time.perf_counter() - started)
    return len(docs) / best, rows / max(1, len(docs))


def _enumeration(n: int) -> dict[str, Any]:
    candidates = {}
    for i in range(n):
        kind = RowKind.TABLE if i % 3 else RowKind.PAGE
        row = CandidateRow(f"d{i // 10}#{i}", f"d{i // 10}", f"name {i}", kind, i, i + 1,
                           score=5.0 if kind is RowKind.TABLE else 0.0)  # fmt: skip
        verdict = ["pass", "unknown", "fail"][i % 3]
        candidates[row.row_id] = {"row": row.to_state(), "verdicts": [verdict], "url": "",
                                  "title": "", "evidence": "x" * 40}  # fmt: skip
    return {"candidates": candidates, "dropped": [], "relaxed": False, "documents": []}


def bookkeeping(n: int) -> float:
    state: Any = {
        "question": QUESTION,
        "table_plan": {**PLAN.to_state(), "max_rows": 80, "max_unsettled": 60},
        "enumeration": _enumeration(n),
        "usage": {},
    }
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        fill_sends(state)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--candidates", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"rows_per_document": {}, "fill_sends_ms": {}}
    for name, paths in CORPORA.items():
        docs = _documents(paths, args.docs)
        if not docs:
            print(f"{name}: skipped (no input at {', '.join(map(str, paths))})")
            continue
        speed, rows = rows_per_document(docs)
        report["rows_per_document"][name] = {"documents": len(docs), "docs_per_s": speed,
                                             "rows_per_doc": rows}  # fmt: skip
    for n in args.candidates:
        report["fill_sends_ms"][n] = bookkeeping(n)
    if args.json:
        print(json.dumps(report))
        return
    print("| corpus | documents | documents/s | candidate rows per document |")
    print("|---|---|---|---|")
    for name, figures in report["rows_per_document"].items():
        print(f"| {name} | {figures['documents']} | {figures['docs_per_s']:.0f} | "
              f"{figures['rows_per_doc']:.1f} |")  # fmt: skip
    print()
    print("| candidates | fill_sends ms |")
    print("|---|---|")
    for n, ms in report["fill_sends_ms"].items():
        print(f"| {n} | {ms:.1f} |")


if __name__ == "__main__":
    main()
