"""Benchmark the knowledge cache: fact writes, tool-cache get/put and lexical fact search.

    python benchmarks/knowledge_cache.py [--facts 2000] [--writers 8] [--ops 2000] [--seed 0]

In a fresh SQLite file (WAL, synchronous=NORMAL) in a temporary directory: facts/s written by one
writer (one transaction per fact, and in batches of 50), then by --writers threads each with its
own KnowledgeCache on the same file (one transaction per fact); tool-cache put and get latency
p50/p95 (hits and misses, results of about 2 KB); lexical fact search latency p50/p95 over all
the facts written. The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from memory.knowledge import KnowledgeCache

_VOCABULARY = (
    "capital population river mountain founded president university museum airport language "
    "currency area elevation mayor country region border coast island lake forest desert "
    "bridge tower stadium railway harbour province district temple castle cathedral library "
    "theatre festival painter composer author scientist inventor athlete champion album novel "
    "film"
)
WORDS = _VOCABULARY.split()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def fact(rng: random.Random, writer: int, i: int) -> dict[str, Any]:
    return {
        "subject": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {writer}-{i}",
        "attribute": rng.choice(WORDS),
        "value": " ".join(rng.choices(WORDS, k=3)) + f" {i}",
        "source_id": f"bench:{writer}:{i % 97}",
        "run_id": f"run-{writer}",
        "confidence": round(rng.random(), 3),
    }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def run(path: Path, facts: int, writers: int, ops: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    figures: dict[str, Any] = {"facts_per_writer": facts, "writers": writers}

    # one writer, one transaction per fact
    with KnowledgeCache(path) as cache:
        rows = [fact(rng, 0, i) for i in range(facts)]
        start = time.perf_counter()
        for row in rows:
            cache.record_fact(**row)
        figures["write_1_facts_per_s"] = round(facts / (time.perf_counter() - start))
        # one writer, batches of 50 facts per transaction
        rows = [fact(rng, 1, i) for i in range(facts)]
        start = time.perf_counter()
        for first in range(0, facts, 50):
            cache.record_facts(rows[first : first + 50])
        figures["write_1_batched_facts_per_s"] = round(facts / (time.perf_counter() - start))

    # N writers, each its own connection, one transaction per fact
    batches = [[fact(rng, 10 + w, i) for i in range(facts)] for w in range(writers)]
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def writer(rows: list[dict[str, Any]]) -> None:
        try:
            with KnowledgeCache(path) as cache:
                barrier.wait()
                for row in rows:
                    cache.record_fact(**row)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(rows,)) for rows in batches]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    figures[f"write_{writers}_facts_per_s"] = round(writers * facts / elapsed)

    with KnowledgeCache(path) as cache:
        expected = (2 + writers) * facts
        total = cache.stats()["facts"]
        if total != expected:
            raise SystemExit(f"lost facts: {total} stored, {expected} written")
        figures["facts_total"] = total

        # tool cache: put, get (hit), get (miss)
        result = [
            {"source_id": f"doc:{j}", "text": " ".join(rng.choices(WORDS, k=40))} for j in range(5)
        ]
        calls = [{"query": " ".join(rng.choices(WORDS, k=4)), "k": 5, "n": n} for n in range(ops)]
        put, hit, miss = [], [], []
        for arguments in calls:
            start = time.perf_counter()
            cache.put_tool_result("search", arguments, result)
            put.append(time.perf_counter() - start)
        for arguments in rng.sample(calls, len(calls)):
            start = time.perf_counter()
            found = cache.get_tool_result("search", arguments)
            hit.append(time.perf_counter() - start)
            assert found is not None
        for n in range(ops):
            start = time.perf_counter()
            cache.get_tool_result("search", {"query": "absent", "n": n})
            miss.append(time.perf_counter() - start)
        for name, values in (("put", put), ("get_hit", hit), ("get_miss", miss)):
            figures[f"tool_{name}_p50_ms"] = ms(percentile(values, 0.5))
            figures[f"tool_{name}_p95_ms"] = ms(percentile(values, 0.95))

        # lexical fact search (the first query warms the cache and is not counted)
        queries = [" ".join(rng.choices(WORDS, k=rng.randint(1, 4))) for _ in range(ops // 4 + 1)]
        cache.search_facts(queries[0], limit=20)
        search = []
        for query in queries[1:]:
            start = time.perf_counter()
            cache.search_facts(query, limit=20)
            search.append(time.perf_counter() - start)
        figures["search_queries"] = len(search)
        figures["search_p50_ms"] = ms(percentile(search, 0.5))
        figures["search_p95_ms"] = ms(percentile(search, 0.95))
        figures["db_mb"] = round(cache.stats()["db_bytes"] / 1e6, 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facts", type=int, default=2000, help="facts per writer (default 2000)")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (default 8)")
    parser.add_argument("--ops", type=int, default=2000, help="tool-cache calls (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wideseek-bench-") as tmp:
        started = time.perf_counter()
        figures = run(Path(tmp) / "knowledge.db", args.facts, args.writers, args.ops, args.seed)
        figures["wall_s"] = round(time.perf_counter() - started, 2)
    print(
        f"fact writes: {figures['write_1_facts_per_s']:,} facts/s with 1 writer "
        f"(one transaction each), {figures['write_1_batched_facts_per_s']:,} facts/s in batches "
        f"of 50, {figures[f'write_{args.writers}_facts_per_s']:,} facts/s with {args.writers} "
        f"writers together; {figures['facts_total']:,} facts, none lost"
    )
    print(
        f"tool cache: put p50 {figures['tool_put_p50_ms']} ms / p95 "
        f"{figures['tool_put_p95_ms']} ms; get hit p50 {figures['tool_get_hit_p50_ms']} ms / p95 "
        f"{figures['tool_get_hit_p95_ms']} ms; miss p50 {figures['tool_get_miss_p50_ms']} ms"
    )
    print(
        f"fact search over {figures['facts_total']:,} facts: p50 {figures['search_p50_ms']} ms, "
        f"p95 {figures['search_p95_ms']} ms ({figures['search_queries']} queries); database "
        f"{figures['db_mb']} MB; {figures['wall_s']} s in all"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
