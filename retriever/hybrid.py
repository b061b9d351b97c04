"""Hybrid ranking: reciprocal rank fusion (RRF) of lexical (BM25) and dense hits.

RRF scores a passage by `sum_i w_i / (k + rank_i)` over the rankings that hold it (rank from 1;
`k` = 60 after Cormack et al., 2009), so rankers whose scores are not comparable (BM25, cosine)
combine by rank alone. A passage is identified by `(corpus, doc_id, start)`: the corpus store's
passage spans are the same for both rankers.

Each fused `Hit` carries, in `scores`, for every ranking that held it, `<name>` (that ranker's
score: the hit's `score` there) and `<name>_rank` (1-based), plus `rrf`, which is also
`Hit.score`; other entries of the input hits' `scores` (e.g. BM25's `coverage`) are kept.

`HybridSearcher` fuses a BM25 search and a dense search, and falls back to BM25 order when the
dense side is missing or fails with a known "not ready" error (no index yet, vectors still being
built, encoder endpoint down), so lexical search works throughout a long embedding job.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from retriever.dense import DenseIndexError
from retriever.encoder import EncoderError
from retriever.types import Hit

__all__ = [
    "DEFAULT_NAMES",
    "RRF_K",
    "DenseUnavailableError",
    "HybridSearcher",
    "SearchFn",
    "rrf",
]

log = logging.getLogger(__name__)

RRF_K = 60
DEFAULT_NAMES = ("bm25", "dense")
"""Names of the first rankings passed to `rrf`; later ones are `ranker2`, `ranker3`, ..."""

SearchFn = Callable[[str, int], list[Hit]]
HitKey = tuple[str, str, int]


class DenseUnavailableError(RuntimeError):
    """Raised by a dense search that cannot answer yet (e.g. no vectors built); the hybrid
    searcher then answers from BM25 alone."""


def _key(hit: Hit) -> HitKey:
    return (hit.corpus, hit.doc_id, hit.start)


def _names(count: int, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [DEFAULT_NAMES[i] if i < len(DEFAULT_NAMES) else f"ranker{i}" for i in range(count)]
    if len(names) != count:
        raise ValueError(f"got {count} rankings but {len(names)} names")
    if len(set(names)) != len(names) or "rrf" in names:
        raise ValueError(f"ranker names must be distinct and not 'rrf': {list(names)}")
    return list(names)


def rrf(
    rankings: Sequence[Sequence[Hit]],
    weights: Sequence[float] | None = None,
    k: int = RRF_K,
    limit: int = 10,
    *,
    names: Sequence[str] | None = None,
) -> list[Hit]:
    """Fuse `rankings` (each best first) into at most `limit` new hits, best first.

    `weights` (default all 1.0; >= 0, one per ranking) scale each ranking's `1 / (k + rank)`.
    A ranking of weight 0 adds nothing, and a hit found only there is left out (its rank is
    still recorded on hits found elsewhere). A passage repeated within one ranking counts at
    its best rank. Ties: better best rank first, then first seen. The inputs are not changed.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"got {len(rankings)} rankings but {len(weights)} weights")
    if any(not w >= 0 for w in weights):  # also rejects NaN
        raise ValueError(f"weights must be >= 0: {list(weights)}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    labels = _names(len(rankings), names)
    if limit <= 0:
        return []

    fused: dict[HitKey, float] = {}
    best_rank: dict[HitKey, int] = {}
    first: dict[HitKey, Hit] = {}
    extra: dict[HitKey, dict[str, float]] = {}
    seen_order: dict[HitKey, int] = {}
    for ranking, weight, name in zip(rankings, weights, labels, strict=True):
        seen: set[HitKey] = set()
        for rank, hit in enumerate(ranking, start=1):
            key = _key(hit)
            if key in seen:
                continue
            seen.add(key)
            if key not in first:
                first[key] = hit
                extra[key] = {}
                seen_order[key] = len(seen_order)
            scores = extra[key]
            for label, value in hit.scores.items():
                scores.setdefault(label, value)
            scores[name] = float(hit.score)
            scores[f"{name}_rank"] = float(rank)
            if weight > 0:
                fused[key] = fused.get(key, 0.0) + weight / (k + rank)
                best_rank[key] = min(best_rank.get(key, rank), rank)

    order = sorted(fused, key=lambda key: (-fused[key], best_rank[key], seen_order[key]))
    out: list[Hit] = []
    for key in order[:limit]:
        scores = dict(extra[key])
        scores["rrf"] = fused[key]
        out.append(dataclasses.replace(first[key], score=fused[key], scores=scores))
    return out


class HybridSearcher:
    """BM25 + dense search fused by RRF.

    `bm25_search(query, n)` and `dense_search(query, n)` return hits best first. `dense_search`
    may be None (lexical only), and may raise `DenseUnavailableError`, `DenseIndexError` or
    `EncoderError` when it cannot answer: the search then returns BM25's hits in BM25's order
    (with `bm25`, `bm25_rank` and `rrf` scores) and `last_dense_error` says why. Each side is
    asked for `max(k, candidates)` hits.
    """

    def __init__(
        self,
        bm25_search: SearchFn,
        dense_search: SearchFn | None,
        weights: tuple[float, float] = (1.0, 1.0),
        *,
        k: int = RRF_K,
        candidates: int = 50,
    ) -> None:
        if len(weights) != 2 or any(not w >= 0 for w in weights):
            raise ValueError(f"weights must be two numbers >= 0 (bm25, dense): {weights!r}")
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        self.bm25_search = bm25_search
        self.dense_search = dense_search
        self.weights = (float(weights[0]), float(weights[1]))
        self.k = k
        self.candidates = candidates
        self.last_dense_error: Exception | None = None
        self._warned: str | None = None

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """The `k` best passages for `query`, best first."""
        if k <= 0:
            return []
        depth = max(k, self.candidates)
        lexical = self.bm25_search(query, depth)
        dense = self._dense(query, depth)
        if dense is None:
            return rrf([lexical], [1.0], k=self.k, limit=k, names=DEFAULT_NAMES[:1])
        return rrf([lexical, dense], self.weights, k=self.k, limit=k, names=DEFAULT_NAMES)

    def _dense(self, query: str, depth: int) -> list[Hit] | None:
        if self.dense_search is None or self.weights[1] == 0:
            return None
        try:
            hits = self.dense_search(query, depth)
        except (DenseUnavailableError, DenseIndexError, EncoderError) as exc:
            self.last_dense_error = exc
            message = f"{type(exc).__name__}: {exc}"
            if message != self._warned:  # once per distinct cause, not once per query
                log.warning("hybrid search: dense side unavailable (%s); using BM25 only", message)
                self._warned = message
            return None
        self.last_dense_error = None
        self._warned = None
        return hits
