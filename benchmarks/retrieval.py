"""Retrieval at corpus scale: ingest speed, index size, BM25 latency, and how many gold-row
documents of the offline dev tasks a task's own query finds in the top 50.

    python benchmarks/retrieval.py [--dense-docs N]

With `--dense-docs N` it also embeds the first N wiki documents and measures dense and hybrid
latency on them (embedding runs at ~25-40 passages/s on 2 cores, so the full 160k passages of the
three corpora is a multi-hour job left to `wideseek corpus embed`). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from retriever.corpus_store import CorpusStore
from retriever.ingest import load_documents

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench"
CORPORA = ("debian", "factbook", "wiki")


def latencies(fn: Any, queries: list[str]) -> dict[str, float]:
    fn(queries[0])  # the first query warms caches; excluded
    times = []
    for q in queries[1:]:
        started = time.perf_counter()
        fn(q)
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dense-docs", type=int, default=0)
    args = parser.parse_args()
    console = Console(stderr=True)
    work = Path(tempfile.mkdtemp(prefix="wideseek-retrieval-"))
    store = CorpusStore(work / "corpus.db")
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    docs = 0
    for name in CORPORA:
        with console.status(f"ingesting {name}"):
            docs += store.add_documents(
                name, load_documents(SHARED / "corpus" / f"{name}.jsonl.gz")
            )
    ingest_s = time.perf_counter() - started
    passages = sum(c.passages for c in store.corpora())
    figures["ingest"] = {
        "documents": docs,
        "passages": passages,
        "seconds": round(ingest_s, 1),
        "docs_per_s": round(docs / ingest_s),
        "passages_per_s": round(passages / ingest_s),
        "db_mb": round((work / "corpus.db").stat().st_size / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    tasks = [json.loads(line) for line in (SHARED / "dev" / "tasks.jsonl").read_text().splitlines()]
    manifest = {
        e["instance_id"]: e for e in json.loads((SHARED / "dev" / "manifest.json").read_text())
    }
    queries = [t["query"] for t in tasks]
    figures["bm25"] = latencies(lambda q: store.search(q, 50), queries)
    found = []
    for task in tasks:
        gold_docs = {d for row in manifest[task["instance_id"]]["row_docs"] for d in row}
        hits = {h.doc_id for h in store.search(task["query"], 50)}
        found.append(len(gold_docs & hits) / max(1, len(gold_docs)))
    figures["dev_gold_docs_in_top50_bm25"] = round(statistics.fmean(found), 3)
    if args.dense_docs:
        from retriever.encoder import MiniLMEncoder
        from retriever.hybrid import HybridSearcher
        from retriever.vectors import CorpusVectors

        small = CorpusStore(work / "small.db")
        wiki = load_documents(SHARED / "corpus" / "wiki.jsonl.gz")
        small.add_documents("wiki", (d for _, d in zip(range(args.dense_docs), wiki, strict=False)))
        vectors = CorpusVectors(small, MiniLMEncoder())
        started = time.perf_counter()
        embedded = vectors.build()
        embed_s = time.perf_counter() - started
        hybrid = HybridSearcher(small.search, vectors.search)
        figures["dense_subset"] = {
            "documents": args.dense_docs,
            "passages": embedded,
            "passages_per_s": round(embedded / embed_s, 1),
            "dense": latencies(lambda q: vectors.search(q, 10), queries),
            "hybrid": latencies(lambda q: hybrid.search(q, 10), queries),
            "bm25": latencies(lambda q: small.search(q, 10), queries),
        }
    table = Table("figure", "value", title="retrieval at corpus scale (2-core machine)")
    for key, value in figures.items():
        table.add_row(key, json.dumps(value))
    console.print(table)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
