"""The tool-retrieval benchmark: BM25, dense and wideseek's `ToolRetriever` on public sets.

For each set: plain BM25 (k1=0.9, b=0.4, case-folded words of the card's name and description,
the query as written: the baseline the published figures use), dense (all-MiniLM-L6-v2 cosine
between the query and the card) and the `ToolRetriever` with the set's *training* queries as
card examples. Recall@5 and NDCG@10 over the *test* queries; the retriever's time per query
includes rewriting and encoding the query.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.tool_metrics import ndcg_at, recall_at
from evals.toolret import ToolRetrievalSet
from retriever.bm25 import BM25FIndex, plain_tokenize
from retriever.encoder import Encoder
from retriever.tool_retriever import (
    ToolRetriever,
    ToolRetrieverConfig,
    card_text,
    texts_to_encode,
)
from retriever.vector_cache import CachedEncoder

__all__ = ["MethodScore", "evaluate_set"]

Ranker = Callable[[str], Sequence[int]]


@dataclass(frozen=True)
class MethodScore:
    recall_at_5: float
    ndcg_at_10: float
    ms_per_query: float

    def as_json(self, timed: bool) -> dict[str, float]:
        out = {"recall@5": round(self.recall_at_5, 1), "ndcg@10": round(self.ndcg_at_10, 1)}
        if timed:
            out["ms_per_query"] = round(self.ms_per_query, 2)
        return out


def _score(
    data: ToolRetrievalSet, rank: Ranker, advance: Callable[[int], None] | None = None
) -> MethodScore:
    recalls: list[float] = []
    ndcgs: list[float] = []
    started = time.perf_counter()
    for query in data.test:
        ranked = [data.ids[i] for i in rank(query.text)]
        recalls.append(recall_at(ranked, query.relevant, 5))
        ndcgs.append(ndcg_at(ranked, query.relevant, 10))
        if advance is not None:
            advance(1)
    elapsed = (time.perf_counter() - started) * 1000 / max(len(data.test), 1)
    return MethodScore(100 * float(np.mean(recalls)), 100 * float(np.mean(ndcgs)), elapsed)


def _top(scores: np.ndarray, k: int = 10) -> list[int]:
    k = min(k, len(scores))
    best = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in best[np.argsort(-scores[best], kind="stable")]]


def evaluate_set(
    data: ToolRetrievalSet,
    encoder: Encoder | None,
    *,
    vector_cache: Path | None = None,
    config: ToolRetrieverConfig | None = None,
    methods: Sequence[str] = ("bm25", "dense", "wideseek"),
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> dict[str, MethodScore]:
    """Scores of each method on `data` (dense methods are skipped when `encoder` is None).
    `progress(label, total)` returns a callback that advances that task."""

    def task(label: str, total: int) -> Callable[[int], None] | None:
        return None if progress is None else progress(f"{data.name}: {label}", total)

    results: dict[str, MethodScore] = {}
    if "bm25" in methods:
        plain = BM25FIndex(
            [{"text": f"{c.name} {c.description}"} for c in data.cards], tokenizer=plain_tokenize
        )
        results["bm25"] = _score(
            data, lambda text: _top(plain.scores(text)), task("bm25", len(data.test))
        )
    if encoder is None:
        return results
    cached = CachedEncoder(encoder, vector_cache)
    try:
        if "dense" in methods:
            cards = cached.encode([card_text(c) for c in data.cards])
            queries = cached.encode_queries([q.text for q in data.test]) if data.test else cards[:0]
            by_text = {q.text: i for i, q in enumerate(data.test)}
            results["dense"] = _score(
                data,
                lambda text: _top(cards @ queries[by_text[text]]),
                task("dense", len(data.test)),
            )
    finally:
        cached.close()
    if "wideseek" in methods:
        cards_with_examples = data.cards_with_examples()
        advance = task("embedding cards", texts_to_encode(cards_with_examples, config))
        retriever = ToolRetriever(
            cards_with_examples, encoder, config=config, vector_cache=vector_cache, progress=advance
        )
        try:
            results["wideseek"] = _score(
                data,
                lambda text: [h.index for h in retriever.search(text, 10)],
                task("wideseek", len(data.test)),
            )
        finally:
            retriever.close()
    return results
