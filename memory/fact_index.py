"""Facts of the knowledge cache embedded into FAISS, and recall of the facts relevant to a goal.

`FactIndex(cache, encoder)` keeps `<knowledge.db>.facts.faiss` (and its sidecar `.json`) in
step with the cache's `facts` table, keyed by fact id. SQLite is the truth; the index is a
derived file:

- `sync()` drops the vectors of facts that are gone (cleared) and embeds the facts that have
  none, so it is incremental; it is called before every search, so facts written by other
  agents (threads, processes) sharing the cache are found too. A missing, corrupt or foreign
  index file, or one built with another encoder or for another cache file, is reported once
  (a warning saying it is being rebuilt) and rebuilt from SQLite.
- `search(text, k)` returns facts nearest in meaning, with `score` = cosine similarity.

`recall(cache, goal, keywords, index=...)` is what the agent calls before a search: facts that
bear on a goal, by meaning (cosine >= `min_similarity`) or by words (at least `min_coverage` of
the keywords in the fact), fused by reciprocal rank.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
import unicodedata
from pathlib import Path

import numpy as np

from memory.knowledge import FactRecord, KnowledgeCache
from retriever.dense import DenseIndex
from retriever.encoder import Encoder
from retriever.index_file import IndexFile

__all__ = ["FactIndex", "default_fact_index_path", "recall"]

log = logging.getLogger(__name__)

SAVE_EVERY = 10.0
"""Seconds between saves of a changing index (and at `close`): a crash re-embeds at most this."""
_BATCH = 256
_RRF_K = 60
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "how",
        "with",
        "find",
        "list",
        "show",
        "give",
        "tell",
    ]
)


def default_fact_index_path(cache_path: Path) -> Path:
    """`knowledge.db` -> `knowledge.db.facts.faiss` (its sidecar: `...faiss.json`)."""
    return cache_path.with_name(cache_path.name + ".facts.faiss")


class FactIndex:
    """Dense vectors of a `KnowledgeCache`'s facts; thread-safe."""

    def __init__(
        self,
        cache: KnowledgeCache,
        encoder: Encoder,
        path: Path | None = None,
        *,
        save_every: float = SAVE_EVERY,
    ) -> None:
        self.cache = cache
        self.encoder = encoder
        self.save_every = save_every
        self._file = IndexFile(
            Path(path) if path else default_fact_index_path(cache.path),
            encoder,
            lambda: f"cache={cache.instance_id()}",
            rebuild_hint="rebuilding the fact index from the knowledge cache",
        )
        self._lock = threading.RLock()
        self._dirty = False
        self._last_save = time.monotonic()

    def __repr__(self) -> str:
        return f"FactIndex({str(self.path)!r}, encoder={self.encoder.name!r})"

    @property
    def path(self) -> Path:
        return self._file.path

    @property
    def load_error(self) -> str | None:
        return self._file.load_error

    def load(self) -> bool:
        """Read the index file; False (and `load_error`) when it is missing or unusable, in
        which case the index starts empty and the next `sync()` rebuilds it from SQLite."""
        return self._file.load()

    @property
    def index(self) -> DenseIndex:
        return self._file.index

    def __len__(self) -> int:
        return self.index.count

    def sync(self, *, save: bool | None = None) -> int:
        """Mirror the facts table: drop vectors of deleted facts, embed new facts. Returns how
        many facts were embedded. `save`: True = write the file now, None = when
        `save_every` seconds have passed since the last write, False = not now."""
        with self._lock:
            index = self.index
            have = index.ids()
            count, largest = self.cache.fact_id_summary()
            if count == len(have) and largest == (int(have.max()) if len(have) else 0):
                # the index mirrored the facts once and ids only grow: nothing changed
                self._save_if_due(save)
                return 0
            live = np.asarray(self.cache.fact_ids(), dtype=np.int64)
            stale = have[~np.isin(have, live)]
            if len(stale):
                index.remove(stale)
                self._dirty = True
            missing = live[~np.isin(live, have)]
            added = 0
            for first in range(0, len(missing), _BATCH):
                facts = self.cache.facts_by_ids(missing[first : first + _BATCH].tolist())
                if not facts:
                    continue
                vectors = self.encoder.encode([f.text() for f in facts], batch_size=64)
                index.add(vectors, np.asarray([f.id for f in facts], dtype=np.int64))
                added += len(facts)
                self._dirty = True
            self._save_if_due(save)
            return added

    def _save_if_due(self, save: bool | None) -> None:
        due = time.monotonic() - self._last_save >= self.save_every
        if self._dirty and (save or (save is None and due)):
            self.save()

    def save(self) -> None:
        with self._lock:
            self._file.save()
            self._dirty = False
            self._last_save = time.monotonic()

    def close(self) -> None:
        """Write pending changes (the index is derived: a crash only costs re-embedding)."""
        with self._lock:
            if self._dirty and self._file.loaded:
                try:
                    self.save()
                except OSError as exc:
                    log.warning("fact index %s not saved: %s", self.path, exc)

    def search(self, text: str, k: int = 10) -> list[FactRecord]:
        """The `k` facts nearest in meaning to `text`, best first, `score` = cosine."""
        if k <= 0 or not text.strip():
            return []
        self.sync()
        with self._lock:
            index = self.index
            if index.count == 0:
                return []
            scores, ids = index.search(self.encoder.encode([text]), min(k, index.count))
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        by_id = dict(pairs)
        facts = self.cache.facts_by_ids([i for i, _ in pairs])
        return [dataclasses.replace(f, score=by_id[f.id]) for f in facts]


def _terms(text: str) -> list[str]:
    words: dict[str, None] = {}
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if word not in _STOP:
            words.setdefault(word, None)
    return list(words)


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def keyword_coverage(keywords: str, fact: FactRecord) -> float:
    """Share of the keywords' content words found (crudely stemmed) in the fact's subject,
    attribute and value."""
    wanted = {_stem(w) for w in _terms(keywords)}
    if not wanted:
        return 0.0
    have = {_stem(w) for w in _terms(f"{fact.subject} {fact.attribute} {fact.value}")}
    return len(wanted & have) / len(wanted)


def recall(
    cache: KnowledgeCache,
    goal: str,
    keywords: str = "",
    *,
    index: FactIndex | None = None,
    k: int = 6,
    min_similarity: float = 0.5,
    min_coverage: float = 0.6,
    min_confidence: float = 0.0,
    exclude_run: str | None = None,
) -> list[FactRecord]:
    """Stored facts that bear on `goal` (a sentence) / `keywords` (a search query), best
    first, at most `k`.

    A fact qualifies by meaning (the dense index, when given: cosine with the goal >=
    `min_similarity`) or by words (FTS5 over subject/attribute/value, then at least
    `min_coverage` of the keywords' content words in the fact); qualifying facts are ranked by
    reciprocal rank fusion of the two rankings. `score` is the fused score. `exclude_run`
    leaves out the facts that run recorded (a run already has its own findings in its notes)."""
    if k <= 0:
        return []
    words = keywords or goal
    rankings: list[list[FactRecord]] = []
    lexical = [
        fact
        for fact in cache.search_facts(f"{keywords} {goal}", limit=4 * k + 20)
        if keyword_coverage(words, fact) >= min_coverage
    ]
    rankings.append(lexical)
    if index is not None:
        dense = [f for f in index.search(goal, 4 * k) if (f.score or 0.0) >= min_similarity]
        rankings.append(dense)
    fused: dict[int, float] = {}
    first: dict[int, FactRecord] = {}
    for ranking in rankings:
        for rank, fact in enumerate(ranking, start=1):
            if fact.confidence < min_confidence or (exclude_run and fact.run_id == exclude_run):
                continue
            fused[fact.id] = fused.get(fact.id, 0.0) + 1.0 / (_RRF_K + rank)
            first.setdefault(fact.id, fact)
    order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
    return [dataclasses.replace(first[i], score=fused[i]) for i in order]
