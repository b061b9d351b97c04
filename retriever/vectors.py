"""Dense vectors of a corpus store's passages, kept in a FAISS index beside the SQLite file.

`CorpusVectors(store, encoder)` keeps `<db>.faiss` (and its sidecar `<db>.faiss.json`) in step
with the store, keyed by passage id:

- `build()` is incremental and resumable: it first drops the vectors of passages that no longer
  exist (removed or re-ingested documents; the store never reuses a passage id), then embeds
  only the passages not yet in the index, in id order, saving the index every `save_every`
  seconds and at the end, so a killed job loses at most that much work and the next `build()`
  carries on where it stopped.
- `load()` reads the index; a missing, corrupt or foreign file, or one built with another
  encoder or from another database file, is logged with a clear message and replaced by an
  empty index for `build()` to fill (`load()` returns False and `load_error` says why).
- `search(query, k, corpora)` encodes the query and returns passage hits with `scores["dense"]`
  (cosine). It raises `DenseUnavailableError` while the index is empty, so a `HybridSearcher`
  answers from BM25 alone until vectors exist; lexical search works throughout a build.

The index records `"<encoder name>|db=<store instance id>"` as its encoder, so a file built
with another model, or for a database that was deleted and rebuilt, is not used.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from retriever.corpus_store import CorpusStore
from retriever.dense import DenseIndex
from retriever.encoder import Encoder
from retriever.hybrid import DenseUnavailableError
from retriever.index_file import IndexFile
from retriever.types import Hit

__all__ = ["SAVE_EVERY", "CorpusVectors", "default_index_path"]

log = logging.getLogger(__name__)

SAVE_EVERY = 30.0
"""Seconds of embedding between saves during `build()` (a killed job loses at most this)."""
ENCODE_BATCH = 32


def default_index_path(db_path: Path) -> Path:
    """`corpus.db` -> `corpus.db.faiss` (its sidecar is `corpus.db.faiss.json`)."""
    return db_path.with_name(db_path.name + ".faiss")


class CorpusVectors:
    """The FAISS index of a `CorpusStore`'s passages; thread-safe (builds are serialised)."""

    def __init__(
        self,
        store: CorpusStore,
        encoder: Encoder,
        index_path: Path | None = None,
        *,
        save_every: float = SAVE_EVERY,
        encode_batch: int = ENCODE_BATCH,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.save_every = save_every
        self.encode_batch = encode_batch
        self._file = IndexFile(
            Path(index_path) if index_path else default_index_path(store.path),
            encoder,
            lambda: f"db={store.instance_id()}",
            rebuild_hint="run `wideseek corpus embed` to rebuild it",
        )
        self._build_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CorpusVectors({str(self.index_path)!r}, encoder={self.encoder.name!r})"

    # -- loading -----------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self._file.path

    @property
    def load_error(self) -> str | None:
        return self._file.load_error

    @property
    def tag(self) -> str:
        """What the index records as its encoder: the model and the database it belongs to."""
        return self._file.tag

    def load(self) -> bool:
        """Read the index file. True if it was read; False if it was missing or unusable, in
        which case the index starts empty (to be filled by `build()`) and `load_error` says
        why (also logged: a warning for a damaged or mismatched file)."""
        return self._file.load()

    @property
    def index(self) -> DenseIndex:
        """The index, loaded on first use."""
        return self._file.index

    def save(self) -> None:
        self._file.save()

    # -- state -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.index.count

    def coverage(self, corpora: Sequence[str] | None = None) -> tuple[int, int]:
        """(passages with a vector, passages in the store), for the named corpora (default all).
        Vectors of passages that no longer exist are not counted."""
        live = self.store.passage_ids(corpora)
        have = self.index.ids()
        embedded = int(np.isin(have, np.fromiter(live, dtype=np.int64, count=len(live))).sum())
        return embedded, len(live)

    def scope(self) -> str:
        """A short fingerprint of what the index holds (changes when vectors are added or
        removed), for cache keys."""
        index = self.index
        ids = index.ids()
        checksum = int(np.bitwise_xor.reduce(ids)) if len(ids) else 0
        return f"{self.encoder.name}:{index.count}:{checksum:x}"

    # -- building ----------------------------------------------------------------------------

    def build(
        self,
        corpora: Sequence[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch: int = 256,
    ) -> int:
        """Bring the index up to date with the store; returns how many passages were embedded.

        Removes the vectors of passages gone from the store (any corpus), then embeds the
        passages of `corpora` (default all) that have no vector, `batch` at a time, calling
        `progress(done, todo)` after each batch, and saves every `save_every` seconds and at
        the end. Interrupted, it keeps what was saved; the next call resumes from there."""
        with self._build_lock:
            index = self.index
            live = self.store.passage_ids()
            have = index.ids()
            stale = have[~np.isin(have, np.fromiter(live, dtype=np.int64, count=len(live)))]
            changed = False
            if len(stale):
                index.remove(stale)
                changed = True
                log.info("dense index: removed %d vectors of deleted passages", len(stale))
            present = set(have.tolist())
            wanted = self.store.passage_ids(corpora)
            todo = len(wanted - present)
            done = 0
            if progress is not None:
                progress(0, todo)
            last_save = time.monotonic()
            try:
                if todo:
                    for rows in self.store.iter_passages(corpora=corpora, batch=batch):
                        fresh = [(pid, text) for pid, text in rows if pid not in present]
                        if not fresh:
                            continue
                        vectors = self.encoder.encode(
                            [text for _, text in fresh], batch_size=self.encode_batch
                        )
                        index.add(vectors, np.array([pid for pid, _ in fresh], dtype=np.int64))
                        changed = True
                        done += len(fresh)
                        if progress is not None:
                            progress(done, todo)
                        if time.monotonic() - last_save >= self.save_every:
                            self.save()
                            changed = False
                            last_save = time.monotonic()
            finally:
                if changed:
                    self.save()
            return done

    # -- searching ---------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        corpora: Sequence[str] | None = None,
        *,
        max_per_document: int | None = None,
    ) -> list[Hit]:
        """The `k` passages nearest to `query`, best first, with `score` = `scores["dense"]` =
        cosine similarity. `corpora` limits the search (unknown names raise
        `UnknownCorpusError`); at most `max_per_document` passages per document (None: no
        limit). Raises `DenseUnavailableError` when no vectors are built yet."""
        index = self.index
        if index.count == 0:
            raise DenseUnavailableError(
                f"no dense vectors yet in {self.index_path}"
                + (f" ({self.load_error})" if self.load_error else "")
                + "; build them to enable dense search"
            )
        if k <= 0 or not query.strip():
            return []
        ranges = self.store.id_ranges(corpora)
        if ranges is not None and not ranges:
            return []
        vector = self.encoder.encode([query])
        want = max(k, 1)
        while True:
            depth = want if ranges is None and max_per_document is None else max(4 * want, 50)
            scores, ids = index.search(vector, depth)
            picked: list[tuple[int, float]] = []
            for pid, score in zip(ids[0].tolist(), scores[0].tolist(), strict=True):
                if pid < 0:
                    continue
                if ranges is not None and not any(low <= pid <= high for low, high in ranges):
                    continue
                picked.append((pid, score))
            by_id = dict(picked)
            # cap per document on the cheap (passage -> document), then read only the text of
            # the passages kept
            docs = self.store.passage_documents(list(by_id))
            kept: list[int] = []
            per_doc: dict[int, int] = {}
            for pid, _ in picked:
                doc = docs.get(pid)
                if doc is None:
                    continue
                if max_per_document is not None and per_doc.get(doc, 0) >= max_per_document:
                    continue
                per_doc[doc] = per_doc.get(doc, 0) + 1
                kept.append(pid)
                if len(kept) >= k:
                    break
            hits = [
                dataclasses.replace(hit, score=by_id[pid], scores={"dense": by_id[pid]})
                for pid, hit in self.store.passages_with_ids(kept)
            ]
            if len(hits) >= k:
                return hits
            if depth >= index.count:
                return hits
            want = depth * 4
