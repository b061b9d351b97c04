"""The demo selector (TPTU-v2): few-shot demonstrations that tell the retrieved tools apart.

The candidates are the retrieved cards' examples (request -> arguments). Each is scored by how
close its request is to the current one *and* how clearly it belongs to its own tool rather
than to the other retrieved tools (its similarity to its own card minus the best similarity to
another retrieved card): an example that two look-alike tools could both answer teaches the
model nothing about which to pick. One demonstration per tool at most, tools that are hardest
to tell apart from another retrieved tool first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from retriever.tool_retriever import ToolHit, ToolRetriever

__all__ = ["Demo", "select_demos"]

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Demo:
    """A demonstration for the tool-choice prompt: a request and the call that answers it."""

    tool: str
    query: str
    arguments: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0


def _overlap(a: str, b: str) -> float:
    left, right = set(_WORD.findall(a.casefold())), set(_WORD.findall(b.casefold()))
    return len(left & right) / max(1, len(left | right))


def select_demos(
    retriever: ToolRetriever,
    hits: Sequence[ToolHit],
    query: str,
    *,
    max_demos: int = 3,
    separation_weight: float = 1.0,
    vector: np.ndarray | None = None,
) -> list[Demo]:
    """Up to `max_demos` demonstrations for `hits` (the retrieved tools) and `query`
    (`vector`: the query's embedding when the caller has it)."""
    if max_demos <= 0 or not hits:
        return []
    if vector is None and retriever.dense:
        vector = retriever.encode_query(query)
    card_vectors = [retriever.card_vector(hit.index) for hit in hits]
    # how confusable each retrieved tool is with another retrieved one
    confusion = [0.0] * len(hits)
    if all(v is not None for v in card_vectors) and len(hits) > 1:
        matrix = np.stack([v for v in card_vectors if v is not None])
        sims = matrix @ matrix.T
        np.fill_diagonal(sims, -1.0)
        confusion = [float(x) for x in sims.max(axis=1)]
    best: list[tuple[float, float, Demo]] = []
    for position, hit in enumerate(hits):
        chosen: Demo | None = None
        chosen_score = -np.inf
        for number, example in enumerate(hit.card.examples):
            if not example.query:
                continue
            example_vector = retriever.example_vector(hit.index, number)
            if vector is not None and example_vector is not None:
                relevance = float(example_vector @ vector)
                own = card_vectors[position]
                others = [v for i, v in enumerate(card_vectors) if i != position and v is not None]
                separation = 0.0
                if own is not None and others:
                    separation = float(example_vector @ own) - max(
                        float(example_vector @ other) for other in others
                    )
            else:
                relevance = _overlap(example.query, query)
                separation = 0.0
            score = relevance + separation_weight * separation
            if score > chosen_score:
                chosen_score = score
                chosen = Demo(hit.card.name, example.query, dict(example.arguments), score)
        if chosen is not None:
            best.append((confusion[position], chosen_score, chosen))
    best.sort(key=lambda item: (-item[0], -item[1]))
    return [demo for _, _, demo in best[:max_demos]]
