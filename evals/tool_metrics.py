"""Ranking metrics for tool retrieval: Recall@k and NDCG@k with binary relevance."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

__all__ = ["ndcg_at", "recall_at"]


def recall_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """The share of `relevant` found in the first `k` of `ranked` (0.0 when nothing is relevant)."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def ndcg_at(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain at `k` with gain 1 for each relevant id."""
    wanted = set(relevant)
    if not wanted:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for position, item in enumerate(ranked[:k]):
        if item in wanted and item not in seen:
            dcg += 1.0 / math.log2(position + 2)
        seen.add(item)
    ideal = sum(1.0 / math.log2(position + 2) for position in range(min(len(wanted), k)))
    return dcg / ideal
