"""Text -> vector cache in SQLite, so a tool catalogue is embedded once, not on every start.

Keyed by the encoder's name and the text's SHA-1; rows are committed batch by batch, so an
interrupted encoding keeps what it finished. A missing or unusable cache file only costs speed:
`CachedEncoder.encode` still returns vectors (and logs why it could not store them).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from retriever.encoder import Encoder

__all__ = ["CachedEncoder"]

log = logging.getLogger(__name__)

_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
_BATCH = 256


class CachedEncoder:
    """Wraps an `Encoder`; vectors of texts seen before come from `path` (SQLite)."""

    def __init__(self, encoder: Encoder, path: Path | None) -> None:
        self.encoder = encoder
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(_SCHEMA)
                self._db.commit()
            except (sqlite3.Error, OSError) as exc:
                log.warning("vector cache %s unusable (%s); encoding without it", path, exc)
                self._db = None

    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.encoder.name}\0{text}".encode()).hexdigest()

    def _lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        if self._db is None:
            return found
        with self._lock:
            for first in range(0, len(keys), 500):
                chunk = keys[first : first + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (self.dim,):
                        found[key] = vector
        return found

    def _store(self, rows: list[tuple[str, bytes]]) -> None:
        if self._db is None or not rows:
            return
        with self._lock:
            try:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
                self._db.commit()
            except sqlite3.Error as exc:
                log.warning("vector cache %s: cannot store vectors (%s)", self.path, exc)

    def encode(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """`(len(texts), dim)` float32 L2-normalised vectors; cached ones are not re-encoded."""
        items = list(texts)
        keys = [self._key(text) for text in items]
        known = self._lookup(sorted(set(keys)))
        if progress is not None and known:
            progress(sum(1 for key in keys if key in known))
        missing = sorted(
            {key: text for key, text in zip(keys, items, strict=True) if key not in known}.items()
        )
        for first in range(0, len(missing), _BATCH):
            chunk = missing[first : first + _BATCH]
            vectors = self.encoder.encode([text for _, text in chunk], batch_size=64)
            rows = []
            for (key, _), vector in zip(chunk, vectors, strict=True):
                known[key] = vector
                rows.append((key, np.asarray(vector, dtype=np.float32).tobytes()))
            self._store(rows)
            if progress is not None:
                done = {key for key, _ in chunk}
                progress(sum(1 for key in keys if key in done))
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([known[key] for key in keys]).astype(np.float32, copy=False)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for queries: encoded directly (64 at a time: one batch of thousands of padded
        texts ran out of memory), never stored (they rarely repeat)."""
        return self.encoder.encode(list(texts), batch_size=min(64, max(1, len(texts))))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
