"""Benchmark the encoders and the dense (FAISS) index.

    python benchmarks/encoder.py [--passages 300] [--words 200] [--vectors 100000]
                                 [--endpoint URL#MODEL] [--skip-encoder] [--skip-faiss]

Encoders: 300 passages of 200 words cut from ../shared/bench/corpus/wiki.jsonl.gz (skipped if
absent): model load time, passages/s (after a warm-up batch) and single short-query latency, for
all-MiniLM-L6-v2 on torch and, with --endpoint, an OpenAI-compatible embeddings server.

FAISS: `--vectors` synthetic 384-d unit vectors near a random 24-d subspace (structured like real
embeddings; isotropic random vectors are a worst case where HNSW recall collapses), indexed by
`DenseIndex` as exact (flat) and as HNSW: build time, query time (batch of 200, per query, and
single-query p50), recall@10 of HNSW against exact, save/load time and file size; plus the
single-query flat latency at a few sizes, which is what the flat -> HNSW threshold rests on.

Figures are noisy on a shared 2-core machine. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retriever.dense import DenseIndex
from retriever.encoder import Encoder, build_encoder

WIKI = Path(__file__).resolve().parents[2] / "shared" / "bench" / "corpus" / "wiki.jsonl.gz"
QUERIES = [
    "capital city of France",
    "who invented the telephone",
    "largest ocean on Earth",
    "causes of the first world war",
    "how do vaccines work",
    "tallest mountain in Africa",
    "programming language created by Guido van Rossum",
    "when did the Roman empire fall",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def load_passages(path: Path, count: int, words: int, seed: int) -> list[str]:
    """`count` passages of `words` words: the file's documents in a shuffled order, as one
    stream of words cut into windows (most articles there are shorter than 200 words)."""
    docs: list[list[str]] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            tokens = json.loads(line).get("text", "").split()
            if tokens:
                docs.append(tokens)
    random.Random(seed).shuffle(docs)
    passages: list[str] = []
    window: list[str] = []
    for tokens in docs:
        window.extend(tokens)
        while len(window) >= words and len(passages) < count:
            passages.append(" ".join(window[:words]))
            window = window[words:]
        if len(passages) >= count:
            break
    return passages


def bench_encoder(label: str, encoder: Encoder, passages: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    dim = encoder.dim
    encoder.encode(passages[:8])  # load + warm up
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors = encoder.encode(passages, batch_size=32)
    seconds = time.perf_counter() - started
    latencies = []
    for query in QUERIES * 3:
        t0 = time.perf_counter()
        encoder.encode([query])
        latencies.append(time.perf_counter() - t0)
    result = {
        "encoder": encoder.name,
        "dim": dim,
        "load_s": round(load_s, 2),
        "passages": len(passages),
        "passages_per_s": round(len(passages) / seconds, 1),
        "query_p50_ms": round(1000 * statistics.median(latencies), 1),
        "norm_max_error": float(np.abs(np.linalg.norm(vectors, axis=1) - 1).max()),
    }
    print(
        f"{label:8} {encoder.name}: load+warm-up {load_s:.1f} s, "
        f"{result['passages_per_s']} passages/s, short query p50 {result['query_p50_ms']} ms",
        flush=True,
    )
    return result


def lowrank(n: int, dim: int, rank: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for first in range(0, n, 50_000):
        m = min(50_000, n - first)
        x = rng.standard_normal((m, rank)).astype(np.float32) @ basis
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        x += 0.05 * rng.standard_normal((m, dim)).astype(np.float32) / np.sqrt(dim)
        out[first : first + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def single_query_ms(index: DenseIndex, queries: np.ndarray, k: int = 10) -> float:
    times = []
    for query in queries:
        t0 = time.perf_counter()
        index.search(query, k)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def bench_faiss(n: int, dim: int, seed: int) -> dict[str, Any]:
    data = lowrank(n + 200, dim, 24, seed)
    x, queries = data[:n], data[n:]
    ids = np.arange(n, dtype=np.int64)
    out: dict[str, Any] = {"vectors": n, "dim": dim, "data": "low-rank-24 synthetic"}

    sweep = {}
    for size in (25_000, 50_000, 100_000, 200_000):
        if size > n:
            break
        part = DenseIndex(dim, hnsw_threshold=size)
        part.add(x[:size], ids[:size])
        sweep[str(size)] = round(single_query_ms(part, queries[:40]), 2)
        del part
    out["flat_single_query_ms_by_size"] = sweep
    print(f"flat single-query p50 by size (ms): {sweep}", flush=True)

    for kind, threshold in (("flat", n), ("hnsw", 0)):
        index = DenseIndex(dim, hnsw_threshold=threshold, encoder="synthetic")
        started = time.perf_counter()
        index.add(x, ids)
        build = time.perf_counter() - started
        assert index.kind == kind
        started = time.perf_counter()
        _, found = index.search(queries, 10)
        batch_ms = 1000 * (time.perf_counter() - started) / len(queries)
        single = single_query_ms(index, queries[:50])
        out[kind] = {
            "build_s": round(build, 2),
            "query_batch_ms_per_query": round(batch_ms, 3),
            "query_single_p50_ms": round(single, 3),
        }
        if kind == "flat":
            truth = found
        else:
            recall = float(
                np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
            )
            out[kind]["recall_at_10"] = round(recall, 4)
            out[kind]["ef_search"] = index.ef_search
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "dense.faiss"
            started = time.perf_counter()
            index.save(path)
            save_s = time.perf_counter() - started
            started = time.perf_counter()
            DenseIndex.load(path)
            load_s = time.perf_counter() - started
            out[kind]["file_mb"] = round(path.stat().st_size / 2**20, 1)
        out[kind]["save_s"] = round(save_s, 2)
        out[kind]["load_s"] = round(load_s, 2)
        print(f"{kind:5} n={n}: {out[kind]}", flush=True)
        del index
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--endpoint", help="also time an embeddings server: URL#MODEL")
    parser.add_argument("--api-key", default=os.environ.get("WIDESEEK_EMBEDDINGS_API_KEY"))
    parser.add_argument("--skip-encoder", action="store_true")
    parser.add_argument("--skip-faiss", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    report: dict[str, Any] = {"cpus": os.cpu_count(), "encoders": [], "faiss": None}
    if not args.skip_encoder:
        if WIKI.is_file():
            passages = load_passages(WIKI, args.passages, args.words, args.seed)
            print(f"{len(passages)} passages of {args.words} words from {WIKI.name}", flush=True)
            encoders: list[tuple[str, Encoder]] = [("torch", build_encoder("minilm"))]
            if args.endpoint:
                encoders.append(("endpoint", build_encoder(args.endpoint, api_key=args.api_key)))
            for label, encoder in encoders:
                with encoder:
                    report["encoders"].append(bench_encoder(label, encoder, passages))
        else:
            print(f"skipping encoders: {WIKI} is absent", flush=True)
            report["encoders_skipped"] = f"{WIKI} absent"
    if not args.skip_faiss:
        report["faiss"] = bench_faiss(args.vectors, 384, args.seed)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
