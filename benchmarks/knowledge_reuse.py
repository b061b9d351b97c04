"""Reuse across runs, measured on the embedded model over the default corpus.

    python benchmarks/knowledge_reuse.py [--pairs N] [--model NAME]

For each (question, related question) pair, in a fresh data directory:

1. the question (nothing stored yet): wall time, model and tool calls;
2. the same question again: it should return the stored answer (no search, no model call);
3. the related question: the facts stored by (1) that bear on its goals are recalled
   (`cache_hit` events) before any search;
4. the related question again with reuse off (`--fresh`), as the baseline for (3).

Prints a table per pair and totals: the speed-up of (2) over (1), the recalled facts and the
tool calls of (3) against (4). The questions are general knowledge, not benchmark tasks. Last
line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

PAIRS = [
    (
        "Who developed the theory of general relativity, and when was it published?",
        "In which year was Einstein's general theory of relativity published?",
    ),
    ("Who painted the Mona Lisa?", "Which artist created the Mona Lisa portrait?"),
    ("What is the capital of Australia?", "Which city is the seat of Australia's government?"),
    ("Who wrote the novel Pride and Prejudice?", "Which author is Pride and Prejudice by?"),
]


def summary(result: Any) -> dict[str, Any]:
    facts = [f for e in result.events if e.type == "cache_hit" for f in e.data.get("facts", [])]
    return {
        "wall_s": round(result.timings.wall_seconds, 2),
        "model_calls": result.usage.model_calls,
        "tool_calls": result.usage.tool_calls,
        "cache_hits": result.usage.cache_hits,
        "recalled_facts": len(facts),
        "recalled_sources": sorted({f["source_id"] for f in facts}),
        "reused_answer": result.reused_from is not None,
        "noted_facts": sum(len(e.data.get("facts", [])) for e in result.events if e.type == "fact"),
        "citations": len(result.citations),
    }


async def run_pair(question: str, related: str, model: str, console: Console) -> dict[str, Any]:
    from agent import Researcher, load_settings
    from retriever.corpus_store import CorpusStore
    from retriever.default_corpus import DEFAULT_CORPUS, default_corpus_documents

    with tempfile.TemporaryDirectory(prefix="wideseek-reuse-") as work:
        data = Path(work)
        with CorpusStore(data / "corpus.db") as store:
            store.add_documents(DEFAULT_CORPUS, default_corpus_documents())
        settings = load_settings(data_dir=data, **{"models.default.model": model})
        fresh_settings = load_settings(
            data_dir=data,
            **{
                "models.default.model": model,
                "knowledge.reuse_answers": False,
                "knowledge.recall_facts": False,
                "knowledge.reuse_tool_results": False,
            },
        )
        out: dict[str, Any] = {"question": question, "related": related}
        researcher = Researcher(settings)
        for label, q in (("first", question), ("again", question), ("related", related)):
            with console.status(f"{label}: {q}"):
                out[label] = summary(await researcher.arun(q))
        baseline = Researcher(fresh_settings, models=researcher.models())
        with console.status(f"related, fresh: {related}"):
            out["related_fresh"] = summary(await baseline.arun(related))
        await researcher.aclose()
        await baseline.aclose()
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    console = Console(stderr=True)
    rows = []
    for question, related in PAIRS[: args.pairs]:
        row = await run_pair(question, related, args.model, console)
        rows.append(row)
        table = Table("run", "wall s", "model", "tools", "cache hits", "recalled", "noted")
        for label in ("first", "again", "related", "related_fresh"):
            r = row[label]
            table.add_row(
                label, str(r["wall_s"]), str(r["model_calls"]), str(r["tool_calls"]),
                str(r["cache_hits"]), str(r["recalled_facts"]), str(r["noted_facts"]),
            )  # fmt: skip
        console.print(f"[bold]{question}[/] / [bold]{related}[/]")
        console.print(table)
    speedups = [r["first"]["wall_s"] / max(r["again"]["wall_s"], 1e-3) for r in rows]
    totals = {
        "pairs": len(rows),
        "again_reused_answer": sum(r["again"]["reused_answer"] for r in rows),
        "again_tool_calls": sum(r["again"]["tool_calls"] for r in rows),
        "again_speedup_min": round(min(speedups), 1),
        "again_speedup_median": round(statistics.median(speedups), 1),
        "related_with_recalled_facts": sum(r["related"]["recalled_facts"] > 0 for r in rows),
        "related_tool_calls": sum(r["related"]["tool_calls"] for r in rows),
        "related_fresh_tool_calls": sum(r["related_fresh"]["tool_calls"] for r in rows),
        "related_wall_s": round(sum(r["related"]["wall_s"] for r in rows), 1),
        "related_fresh_wall_s": round(sum(r["related_fresh"]["wall_s"] for r in rows), 1),
    }
    console.print_json(json.dumps(totals))
    return {"totals": totals, "pairs": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=len(PAIRS))
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
