"""`wideseek ask` end to end on the embedded default model over the default corpus.

Prints, per question: wall time, model time, tool time and the rest (framework overhead: graph,
checkpoints, run store, prompts), then a table and, as the last line, one JSON object.

    python benchmarks/ask.py [--questions N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from agent import Researcher, load_settings
from retriever.corpus_store import CorpusStore
from retriever.default_corpus import DEFAULT_CORPUS, default_corpus_documents

QUESTIONS = [
    "Who developed the theory of general relativity, and when was it published?",
    "Which river flows through Baghdad?",
    "What is photosynthesis and which organisms perform it?",
    "Who wrote the novel One Hundred Years of Solitude?",
    "What was the Meiji Restoration?",
]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    console = Console(stderr=True)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="wideseek-bench-"))
    settings = load_settings(data_dir=str(data_dir), corpora=[DEFAULT_CORPUS])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with CorpusStore(settings.corpus_db) as store:
        if not store.has_corpus(DEFAULT_CORPUS):
            store.add_documents(DEFAULT_CORPUS, default_corpus_documents())
    researcher = Researcher(settings)
    await researcher.check_models()  # load the model once, outside the timed runs
    rows = []
    with Progress(console=console) as progress:
        task = progress.add_task("asking", total=args.questions)
        for question in QUESTIONS[: args.questions]:
            result = await researcher.arun(question)
            t = result.timings
            rows.append(
                {
                    "question": question,
                    "wall_s": round(t.wall_seconds, 2),
                    "model_s": round(t.model_seconds, 2),
                    "tool_s": round(t.tool_seconds, 3),
                    "other_s": round(t.framework_seconds, 3),
                    "other_pct": round(100 * t.framework_seconds / t.wall_seconds, 2),
                    "model_calls": result.usage.model_calls,
                    "tool_calls": result.usage.tool_calls,
                    "tokens": result.usage.total_tokens,
                    "citations": len(result.citations),
                    "stop": result.stop_reason,
                }
            )
            progress.advance(task)
    await researcher.aclose()
    table = Table(
        "question",
        "wall s",
        "model s",
        "tools s",
        "other s",
        "other %",
        "calls",
        "cites",
        title="wideseek ask: embedded model, default corpus",
    )
    for r in rows:
        table.add_row(
            r["question"][:40],
            f"{r['wall_s']:.1f}",
            f"{r['model_s']:.1f}",
            f"{r['tool_s']:.3f}",
            f"{r['other_s']:.3f}",
            f"{r['other_pct']:.2f}",
            f"{r['model_calls']}/{r['tool_calls']}",
            str(r["citations"]),
        )
    Console().print(table)
    wall = sum(r["wall_s"] for r in rows)
    other = sum(r["other_s"] for r in rows)
    summary = {
        "questions": len(rows),
        "wall_s_median": statistics.median(r["wall_s"] for r in rows),
        "wall_s_total": round(wall, 2),
        "model_s_total": round(sum(r["model_s"] for r in rows), 2),
        "tool_s_total": round(sum(r["tool_s"] for r in rows), 3),
        "framework_pct": round(100 * other / wall, 2),
        "runs": rows,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
