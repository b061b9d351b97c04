"""Retrieval at corpus scale: ingest, index sizes, BM25 / dense / hybrid latency, and the
recall of the approximate FAISS index against the exact one, on the three shared corpora.

    python benchmarks/retrieval.py [--data DIR] [--embed] [--queries N] [--bm25-only]

1. **Ingest**: the three corpora of `../shared/bench/corpus` (~74k documents) into a fresh
   database: documents/s, passages/s, peak RSS, size on disk.
2. **Scale**: a persistent database in `--data` (default `~/.cache/wideseek/bench/retrieval`,
   ingested on first use) with dense vectors for every passage. Embedding 160k passages with
   MiniLM is a 1.5-2.5 h job on 2 cores: `--embed` builds or resumes it (with a progress bar;
   Ctrl-C keeps what is done); without it the figures use the vectors already built and say
   how many that is.
3. **Latency** (p50/p95 ms, the first query excluded) of BM25, dense and hybrid (the agent's
   `search` tool: BM25 + dense fused by RRF, one hit per document) for three query sets:
   `keywords` (the agent's kind: keyword queries made from the dev tasks by the agent's own
   `keywords()`), `titles` (known-item: titles of random documents) and `long` (the dev tasks'
   full text, paragraph-long).
4. **Approximate vs exact**: recall@10 of the chosen index (HNSW above 50k vectors) against
   exact inner-product search over the same vectors, at several efSearch values, with latency.
5. **Dev quality**: share of the dev tasks' gold-row documents that each ranker finds in its
   top 50 for the task's own text, and in the union of the top 50 of the agent's own
   sub-queries: the search queries the planner (the configured model, the embedded one by
   default) writes for each task, made once and kept in `--data/planner_queries.json`
   (`--no-agent-queries` skips them). A figure, not something tuned for.

Last line: one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from retriever.corpus_store import CorpusStore
from retriever.ingest import load_documents

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench"
CORPORA = ("debian", "factbook", "wiki")
DEFAULT_DATA = Path.home() / ".cache" / "wideseek" / "bench" / "retrieval"


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def latencies(fn: Callable[[str], Any], queries: list[str]) -> dict[str, float]:
    """p50/p95 in ms over `queries`; the first call (cold caches) is excluded."""
    fn(queries[0])
    times = []
    for query in queries[1:]:
        started = time.perf_counter()
        fn(query)
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "n": len(times),
    }


def ingest(store: CorpusStore, console: Console) -> dict[str, Any]:
    started = time.perf_counter()
    docs = 0
    for name in CORPORA:
        with console.status(f"ingesting {name}"):
            docs += store.add_documents(
                name, load_documents(SHARED / "corpus" / f"{name}.jsonl.gz")
            )
    seconds = time.perf_counter() - started
    passages = sum(c.passages for c in store.corpora())
    return {
        "documents": docs,
        "passages": passages,
        "seconds": round(seconds, 1),
        "docs_per_s": round(docs / seconds),
        "passages_per_s": round(passages / seconds),
        "db_mb": round(store.path.stat().st_size / 1e6, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def query_sets(store: CorpusStore, n: int) -> dict[str, list[str]]:
    from agent.text import keywords

    tasks = dev_tasks()
    rng = random.Random(20261201)
    titles: list[str] = []
    for name in CORPORA:
        ids = sorted(store.passage_ids([name]))
        picked = rng.sample(ids, min(len(ids), n // len(CORPORA) + 1))
        titles.extend(hit.title for hit in store.passages_by_ids(picked) if hit.title)
    return {
        "keywords": [keywords(t["query"], 6) for t in tasks],
        "titles": titles[:n],
        "long": [t["query"] for t in tasks],
    }


def progress_bar(label: str, console: Console) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def embed(vectors: Any, console: Console) -> int:
    done, total = vectors.coverage()
    with progress_bar("embedding passages", console) as progress:
        task = progress.add_task("embed", total=total, completed=done)
        return int(
            vectors.build(
                progress=lambda d, t: progress.update(task, completed=done + d, total=total)
            )
        )


def approximate_vs_exact(vectors: Any, queries: list[str]) -> dict[str, Any]:
    """Recall@10 of the stored index against exact search over the same vectors."""
    import faiss

    index = vectors.index
    stored, exact_ids = index.live_vectors()
    exact = faiss.IndexFlatIP(index.dim)
    exact.add(stored)
    encoded = vectors.encoder.encode(queries, batch_size=64)
    _, truth = exact.search(encoded, 10)
    truth_ids = exact_ids[truth]
    started = time.perf_counter()
    for row in encoded:
        exact.search(row.reshape(1, -1), 10)
    exact_ms = 1000 * (time.perf_counter() - started) / len(encoded)
    figures: dict[str, Any] = {
        "kind": index.kind,
        "vectors": index.count,
        "queries": len(queries),
        "exact_single_query_ms": round(exact_ms, 2),
    }
    if index.kind != "hnsw":
        figures["recall_at_10"] = 1.0
        return figures
    sweep = {}
    chosen = index.ef_search
    for ef in (32, 64, 128, 256):
        index.ef_search = ef
        started = time.perf_counter()
        found = [index.search(row.reshape(1, -1), 10)[1][0] for row in encoded]
        ms = 1000 * (time.perf_counter() - started) / len(encoded)
        recall = statistics.fmean(
            len(set(got.tolist()) & set(want.tolist())) / 10
            for got, want in zip(found, truth_ids, strict=True)
        )
        sweep[str(ef)] = {"recall_at_10": round(recall, 4), "single_query_ms": round(ms, 3)}
    index.ef_search = chosen
    figures["ef_search"] = chosen
    figures["recall_at_10"] = sweep[str(chosen)]["recall_at_10"] if str(chosen) in sweep else None
    figures["sweep"] = sweep
    return figures


def dev_tasks() -> list[dict[str, Any]]:
    path = SHARED / "dev" / "tasks.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def planner_queries(cache_file: Path, console: Console) -> dict[str, list[str]]:
    """The planner's sub-goal queries for every dev task, made once per model and prompt."""
    import asyncio
    import hashlib

    from agent.config import load_settings
    from agent.llm.factory import build_role_models
    from agent.prompts import load_prompt
    from agent.schemas import Plan
    from agent.text import keywords

    settings = load_settings()
    prompt = load_prompt("planner")
    spec = (
        settings.models.model_dump_json()
        + (Path(__file__).resolve().parents[1] / "agent" / "prompts" / "planner.md").read_text()
    )
    key = hashlib.sha256(spec.encode()).hexdigest()[:16]
    stored: dict[str, Any] = {}
    if cache_file.exists():
        try:
            stored = json.loads(cache_file.read_text())
        except (OSError, json.JSONDecodeError):
            stored = {}
    queries: dict[str, list[str]] = stored.get("queries", {}) if stored.get("key") == key else {}
    tasks = [t for t in dev_tasks() if t["instance_id"] not in queries]
    if not tasks:
        return queries

    async def plan_all() -> None:
        model = build_role_models(settings.models)["planner"]
        try:
            with progress_bar("planner sub-queries", console) as progress:
                bar = progress.add_task("plan", total=len(tasks))
                for task in tasks:
                    try:
                        messages = prompt.render(question=task["query"])
                        plan, _ = await model.parse(messages, Plan, max_tokens=400)
                        queries[task["instance_id"]] = [g.query for g in plan.sub_goals]
                    except Exception as error:  # a failed plan: the agent falls back to keywords
                        console.print(f"[yellow]{task['instance_id']}: planner failed: {error}[/]")
                        queries[task["instance_id"]] = [keywords(task["query"])]
                    cache_file.write_text(json.dumps({"key": key, "queries": queries}, indent=1))
                    progress.advance(bar)
        finally:
            await model.aclose()

    asyncio.run(plan_all())
    return queries


def dev_quality(
    search: dict[str, Callable[[str], list[Any]]], sub_queries: dict[str, list[str]] | None
) -> dict[str, Any]:
    tasks = dev_tasks()
    manifest = {
        e["instance_id"]: e for e in json.loads((SHARED / "dev" / "manifest.json").read_text())
    }
    out: dict[str, Any] = {}
    for name, fn in search.items():
        found, found_sub = [], []
        for task in tasks:
            gold = {d for row in manifest[task["instance_id"]]["row_docs"] for d in row}
            hits = {hit.doc_id for hit in fn(task["query"])}
            found.append(len(gold & hits) / max(1, len(gold)))
            if sub_queries and task["instance_id"] in sub_queries:
                union = {h.doc_id for q in sub_queries[task["instance_id"]] for h in fn(q)}
                found_sub.append(len(gold & union) / max(1, len(gold)))
        out[name] = {"task_query": round(statistics.fmean(found), 3)}
        if found_sub:
            out[name]["agent_sub_queries"] = round(statistics.fmean(found_sub), 3)
    if sub_queries:
        out["sub_queries_per_task"] = round(
            statistics.fmean(len(v) for v in sub_queries.values()), 2
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--embed", action="store_true", help="build or resume the vectors")
    parser.add_argument("--queries", type=int, default=200, help="title queries")
    parser.add_argument("--skip-ingest", action="store_true", help="skip the fresh ingest")
    parser.add_argument(
        "--no-agent-queries", action="store_true", help="skip the planner's sub-queries"
    )
    parser.add_argument(
        "--plan-only", action="store_true", help="only make the planner's sub-queries"
    )
    parser.add_argument(
        "--bm25-only",
        action="store_true",
        help="BM25 latency and dev quality only (no vectors needed: compares index formats)",
    )
    args = parser.parse_args()
    console = Console(stderr=True)
    figures: dict[str, Any] = {}

    if not (args.skip_ingest or args.plan_only):
        with (
            tempfile.TemporaryDirectory(prefix="wideseek-ingest-") as work,
            CorpusStore(Path(work) / "corpus.db") as fresh,
        ):
            figures["ingest"] = ingest(fresh, console)

    from retriever.encoder import MiniLMEncoder
    from retriever.vectors import CorpusVectors
    from tools.corpus import CorpusSearchTool

    args.data.mkdir(parents=True, exist_ok=True)
    plans = args.data / "planner_queries.json"
    sub_queries = None if args.no_agent_queries else planner_queries(plans, console)
    if args.plan_only:
        print(json.dumps({"planner_queries": len(sub_queries or {})}))
        return
    store = CorpusStore(args.data / "corpus.db")
    if sorted(store.corpus_names()) != sorted(CORPORA):
        console.print(f"ingesting the corpora into {args.data} (once)")
        ingest(store, console)
    vectors = CorpusVectors(store, MiniLMEncoder())
    if not vectors.load():
        console.print(f"[yellow]{vectors.load_error}[/]")
    if args.embed:
        embed(vectors, console)
    embedded, total = vectors.coverage()
    figures["scale"] = {
        "passages": total,
        "with_vectors": embedded,
        "complete": embedded == total,
        "index_kind": vectors.index.kind,
        "sqlite_mb": round(store.path.stat().st_size / 1e6, 1),
        "faiss_mb": round(vectors.index_path.stat().st_size / 1e6, 1)
        if vectors.index_path.exists()
        else 0.0,
    }
    if args.bm25_only:
        sets = query_sets(store, args.queries)
        figures["latency"] = {
            name: {"bm25": latencies(lambda q: store.search(q, 50, max_per_document=3), queries)}
            for name, queries in sets.items()
        }
        figures["dev_gold_docs_in_top50"] = dev_quality(
            {"bm25": lambda q: store.search(q, 50)}, sub_queries
        )
        console.print(json.dumps(figures, indent=1))
        print(json.dumps(figures))
        return
    if embedded == 0:
        console.print("[red]no vectors yet: run with --embed (or --bm25-only)[/]")
        print(json.dumps(figures))
        return
    if embedded < total:
        console.print(f"[yellow]only {embedded} of {total} passages have vectors yet[/]")

    tool = CorpusSearchTool(store, vectors=vectors)
    sets = query_sets(store, args.queries)
    vectors.encoder.encode(["warm up the encoder"])
    latency: dict[str, Any] = {}
    for name, queries in sets.items():
        latency[name] = {
            "bm25": latencies(lambda q: store.search(q, 50, max_per_document=3), queries),
            "dense": latencies(lambda q: vectors.search(q, 50, max_per_document=3), queries),
            "hybrid": latencies(lambda q: tool.search(q, 5), queries),
            "encode_query": latencies(lambda q: vectors.encoder.encode([q]), queries),
        }
    figures["latency"] = latency
    figures["approximate_vs_exact"] = approximate_vs_exact(
        vectors, sets["titles"] + sets["keywords"]
    )
    figures["dev_gold_docs_in_top50"] = dev_quality(
        {
            "bm25": lambda q: store.search(q, 50),
            "dense": lambda q: vectors.search(q, 50, max_per_document=1),
            "hybrid": lambda q: tool.search(q, 50),
        },
        sub_queries,
    )
    figures["query_process_peak_rss_mb"] = peak_rss_mb()

    table = Table("figure", "value", title="retrieval at corpus scale (2-core machine)")
    for key, value in figures.items():
        if key == "latency":
            for name, rankers in value.items():
                for ranker, numbers in rankers.items():
                    table.add_row(f"latency {name} {ranker}", json.dumps(numbers))
        else:
            table.add_row(key, json.dumps(value))
    console.print(table)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
