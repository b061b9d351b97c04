"""The API retriever: the few tools a step needs, out of a catalogue of thousands (TPTU-v2).

Two stages over `ToolCard`s:

1. *Candidates*: BM25F over the card's fields (name, API/group and tags, description,
   parameters, example requests; each field weighted) fused with dense similarity
   (all-MiniLM-L6-v2 by default) of the request to the card and to the card's example
   requests (nearest examples vote for their tool). The request is rewritten first
   (`retriever.tool_query`): inline data and boilerplate out, one segment per need, the step's
   goal as one more segment; each segment is scored too and the best segment counts.
2. *Re-ranking* of the best `candidates`: a tool whose API (the card's `source`) or tool name
   the request names gets a bonus, and tools of an API that scores well are lifted together
   (requests that need several endpoints of one API).

Everything is numpy over pre-computed matrices: for 10,000 tools a query costs one encoder
call (all segments in one batch) plus a few milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retriever.bm25 import BM25FIndex
from retriever.encoder import Encoder
from retriever.tool_query import ToolQueryText, rewrite_tool_query
from retriever.vector_cache import CachedEncoder
from tools.cards import ToolCard

__all__ = [
    "ToolHit",
    "ToolRetriever",
    "ToolRetrieverConfig",
    "card_fields",
    "card_group",
    "card_text",
    "texts_to_encode",
]

FIELD_WEIGHTS = {"name": 2.0, "group": 1.0, "description": 1.0, "parameters": 0.5, "examples": 0.3}
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ToolRetrieverConfig:
    """The knobs of both stages (defaults chosen on the benchmarks' training splits)."""

    field_weights: dict[str, float] = field(default_factory=lambda: dict(FIELD_WEIGHTS))
    bm25_weight: float = 0.5  # BM25 (scaled to the best score = 1) next to cosine similarity
    example_weight: float = 1.0  # best example request's similarity
    segment_weight: float = 0.8  # the best segment's score, added to the whole request's
    candidates: int = 100
    name_bonus: float = 0.2  # the request names the tool's API
    group_weight: float = 0.4  # share of the API's best score every tool of it gets
    category_weight: float = 0.0  # the same for the category (the card's first tag)
    example_neighbours: int = 64
    example_votes: int = 1  # 1: a tool's nearest example; n: the mean of its n nearest
    max_examples_per_tool: int = 50
    segment_dense: bool = True  # encode each segment too (one batch), not only the request
    rewrite: bool = True  # drop inline data and boilerplate, split the request into needs


@dataclass(frozen=True)
class ToolHit:
    """One retrieved tool: its card, position in the catalogue, score and the score's parts."""

    card: ToolCard
    index: int
    score: float
    parts: dict[str, float] = field(default_factory=dict)


def card_group(card: ToolCard) -> str:
    """The API a tool belongs to: its tags' last entry for imported catalogues that name it,
    else the card's source file (`openapi:<file>`), else the card itself."""
    if ":" in card.source:
        return card.source.split(":", 1)[1]
    return card.tags[-1] if card.tags else card.name


def _schema_text(parameters: dict[str, Any]) -> str:
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return ""
    parts: list[str] = []
    for name, spec in properties.items():
        description = spec.get("description", "") if isinstance(spec, dict) else ""
        parts.append(f"{name} {description}".strip())
    return " ".join(parts)


def card_fields(card: ToolCard, max_examples: int | None = None) -> dict[str, str]:
    """A card's text per BM25F field."""
    examples = card.examples if max_examples is None else card.examples[:max_examples]
    return {
        "name": card.name,
        "group": " ".join([*card.tags, card_group(card)]) if card.tags else card_group(card),
        "description": card.description,
        "parameters": _schema_text(card.parameters),
        "examples": " ".join(e.query for e in examples if e.query),
    }


def card_text(card: ToolCard) -> str:
    """What the dense encoder reads of a card: name, description and tags."""
    tags = f" ({', '.join(card.tags)})" if card.tags else ""
    return f"{card.name}: {card.description}{tags}"[:2000]


def _example_requests(
    cards: Sequence[ToolCard], config: ToolRetrieverConfig
) -> Iterator[tuple[int, int, str]]:
    """(card index, example index, request) of every example request the dense side embeds."""
    for index, card in enumerate(cards):
        for position, example in enumerate(card.examples[: config.max_examples_per_tool]):
            if example.query:
                yield index, position, example.query


def texts_to_encode(cards: Sequence[ToolCard], config: ToolRetrieverConfig | None = None) -> int:
    """How many texts a `ToolRetriever` over `cards` encodes (cards plus example requests)."""
    return len(cards) + sum(1 for _ in _example_requests(cards, config or ToolRetrieverConfig()))


def _words(text: str) -> str:
    return " " + " ".join(_WORDS.findall(text.casefold())) + " "


def _best_of(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each position, the best value among the positions with the same key."""
    best: dict[int, float] = {}
    for key, value in zip(keys.tolist(), values.tolist(), strict=True):
        if value > best.get(key, -np.inf):
            best[key] = value
    return np.array([best[key] for key in keys.tolist()], dtype=np.float64)


def _scaled(scores: np.ndarray) -> np.ndarray:
    best = float(scores.max()) if scores.size else 0.0
    return scores / best if best > 0 else scores


class ToolRetriever:
    """Top-k tools for a request (and the step's goal) over `cards`.

    `encoder`: the dense model (None: BM25F only). `vector_cache`: a SQLite file where card and
    example vectors are kept between runs. `progress(n)` is called as cards are encoded.
    """

    def __init__(
        self,
        cards: Sequence[ToolCard],
        encoder: Encoder | None = None,
        *,
        config: ToolRetrieverConfig | None = None,
        vector_cache: Path | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.cards = list(cards)
        self.config = config or ToolRetrieverConfig()
        cfg = self.config
        self._bm25 = BM25FIndex(
            [card_fields(c, cfg.max_examples_per_tool) for c in self.cards], cfg.field_weights
        )
        groups: dict[str, int] = {}
        self._group = np.array(
            [groups.setdefault(card_group(c), len(groups)) for c in self.cards], dtype=np.int64
        )
        self._group_words = [""] * len(groups)
        for card, group in zip(self.cards, self._group, strict=True):
            self._group_words[group] = _words(card_group(card))
        self._name_words = [_words(c.name) for c in self.cards]
        categories: dict[str, int] = {}
        self._category = np.array(
            [
                categories.setdefault(c.tags[0] if c.tags else "", len(categories))
                for c in self.cards
            ],
            dtype=np.int64,
        )
        self._encoder = CachedEncoder(encoder, vector_cache) if encoder is not None else None
        self._card_vectors: np.ndarray | None = None
        self._example_vectors: np.ndarray | None = None
        self._example_owner = np.zeros(0, dtype=np.int64)
        self._example_row: dict[tuple[int, int], int] = {}
        if self._encoder is not None and self.cards:
            self._embed(progress)

    def __len__(self) -> int:
        return len(self.cards)

    @property
    def dense(self) -> bool:
        return self._card_vectors is not None

    def texts_to_encode(self) -> int:
        """How many texts building the dense side encodes (cards plus example requests)."""
        return texts_to_encode(self.cards, self.config)

    def _embed(self, progress: Callable[[int], None] | None) -> None:
        assert self._encoder is not None
        self._card_vectors = self._encoder.encode(
            [card_text(c) for c in self.cards], progress=progress
        )
        texts: list[str] = []
        owners: list[int] = []
        for index, position, query in _example_requests(self.cards, self.config):
            texts.append(query)
            owners.append(index)
            self._example_row[(index, position)] = len(self._example_row)
        if texts:
            self._example_vectors = self._encoder.encode(texts, progress=progress)
            self._example_owner = np.array(owners, dtype=np.int64)

    # --- scoring --------------------------------------------------------------------------------

    def _first_stage(
        self, text: str, vector: np.ndarray | None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        cfg = self.config
        lexical = _scaled(self._bm25.scores(text))
        parts = {"bm25": lexical}
        score = cfg.bm25_weight * lexical
        if vector is not None and self._card_vectors is not None:
            dense = self._card_vectors @ vector
            parts["dense"] = dense
            score = score + dense
            if self._example_vectors is not None and cfg.example_weight > 0:
                examples = self._example_scores(vector)
                parts["examples"] = examples
                score = score + cfg.example_weight * examples
        return score, parts

    def _example_scores(self, vector: np.ndarray) -> np.ndarray:
        """Per tool, the similarity of its nearest example request (0 for tools without one
        among the `example_neighbours` nearest)."""
        assert self._example_vectors is not None
        sims = self._example_vectors @ vector
        k = min(self.config.example_neighbours, len(sims))
        nearest = np.argpartition(-sims, k - 1)[:k]
        out = np.zeros(len(self.cards), dtype=np.float32)
        votes = self.config.example_votes
        if votes <= 1:
            np.maximum.at(out, self._example_owner[nearest], np.maximum(sims[nearest], 0))
            return out
        # the mean of a tool's `votes` nearest examples: tools many close requests ask for win
        order = nearest[np.argsort(-sims[nearest])]
        taken: dict[int, int] = {}
        for row in order:
            owner = int(self._example_owner[row])
            if taken.get(owner, 0) < votes:
                taken[owner] = taken.get(owner, 0) + 1
                out[owner] += max(float(sims[row]), 0.0) / votes
        return out

    def encode_query(self, text: str) -> np.ndarray | None:
        """The embedding of one request (None without a dense side)."""
        if self._encoder is None or self._card_vectors is None:
            return None
        return self._encoder.encode_queries([text])[0]

    def query_vectors(self, rewritten: ToolQueryText) -> np.ndarray | None:
        if self._encoder is None or self._card_vectors is None:
            return None
        if not rewritten.segments or not self.config.segment_dense:
            return self._encoder.encode_queries([rewritten.text])
        # the request's vector is the mean of its segments' (one short batch instead of the
        # long request padded next to short segments: about half the encoder time)
        segments = self._encoder.encode_queries(rewritten.segments)
        whole = segments.mean(axis=0)
        whole /= max(float(np.linalg.norm(whole)), 1e-9)
        return np.vstack([whole[None, :], segments]).astype(np.float32)

    def search(self, query: str, k: int = 5, *, goal: str | None = None) -> list[ToolHit]:
        """The `k` best tools for `query` (and the step's `goal`), best first."""
        if k <= 0 or not self.cards:
            return []
        if self.config.rewrite:
            rewritten = rewrite_tool_query(query, goal)
        else:
            rewritten = ToolQueryText(" ".join(query.split()), [goal] if goal else [])
        vectors = self.query_vectors(rewritten)
        return self.rank(rewritten, vectors, k)

    def rank(self, rewritten: ToolQueryText, vectors: np.ndarray | None, k: int) -> list[ToolHit]:
        """Both stages for an already rewritten (and encoded) request."""
        cfg = self.config
        score, parts = self._first_stage(rewritten.text, None if vectors is None else vectors[0])
        if rewritten.segments and cfg.segment_weight > 0:
            best = np.full(len(self.cards), -np.inf, dtype=np.float32)
            for position, segment in enumerate(rewritten.segments, 1):
                vector = None if vectors is None or len(vectors) <= position else vectors[position]
                segment_score, _ = self._first_stage(segment, vector)
                best = np.maximum(best, segment_score)
            parts["segment"] = best
            score = score + cfg.segment_weight * best
        pool = min(max(cfg.candidates, k), len(score))
        candidates = np.argpartition(-score, pool - 1)[:pool]
        final = score[candidates].astype(np.float64)
        request = _words(" ".join([rewritten.text, *rewritten.segments]))
        named = np.array(
            [
                (len(self._group_words[g]) > 4 and self._group_words[g] in request)
                or (len(self._name_words[i]) > 4 and self._name_words[i] in request)
                for i, g in zip(candidates, self._group[candidates], strict=True)
            ],
            dtype=np.float64,
        )
        final = final + cfg.name_bonus * named
        base = final.copy()
        if cfg.group_weight > 0:
            final = final + cfg.group_weight * _best_of(self._group[candidates], base)
        if cfg.category_weight > 0:
            final = final + cfg.category_weight * _best_of(self._category[candidates], base)
        order = np.argsort(-final, kind="stable")[:k]
        hits: list[ToolHit] = []
        for position in order:
            index = int(candidates[position])
            detail = {name: float(values[index]) for name, values in parts.items()}
            detail["named"] = float(named[position])
            hits.append(ToolHit(self.cards[index], index, float(final[position]), detail))
        return hits

    # --- demonstrations -------------------------------------------------------------------------

    def example_vector(self, card_index: int, example_index: int) -> np.ndarray | None:
        """The vector of a card's example request (None without a dense side)."""
        if self._example_vectors is None:
            return None
        row = self._example_row.get((card_index, example_index))
        return None if row is None else self._example_vectors[row]

    def card_vector(self, card_index: int) -> np.ndarray | None:
        return None if self._card_vectors is None else self._card_vectors[card_index]

    def close(self) -> None:
        if self._encoder is not None:
            self._encoder.close()
