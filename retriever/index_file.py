"""A FAISS index derived from a database and kept in a file beside it.

`IndexFile` loads the file on first use and checks it: what `DenseIndex.load` checks (format,
size, checksum, dimension) and the *tag* it was built with, `"<encoder name>|<owner>"`, where
the owner names the database it belongs to (`db=<id>`, `cache=<id>`), so a file built with
another model, or for a database that was deleted and made again, is never used. A missing,
damaged or mismatched file leaves an empty index, to be rebuilt from the database, and
`load_error` says why (a damaged or mismatched file is also logged as a warning).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from retriever.dense import DenseIndex, DenseIndexError
from retriever.encoder import Encoder

__all__ = ["IndexFile"]

log = logging.getLogger(__name__)


class IndexFile:
    """The `DenseIndex` in `path`, for vectors made by `encoder` for the database `owner()`
    names. Thread-safe."""

    def __init__(
        self,
        path: Path,
        encoder: Encoder,
        owner: Callable[[], str],
        *,
        rebuild_hint: str = "rebuild it from the database",
    ) -> None:
        self.path = Path(path)
        self.encoder = encoder
        self.owner = owner
        self.rebuild_hint = rebuild_hint
        self.load_error: str | None = None
        self._index: DenseIndex | None = None
        self._lock = threading.RLock()

    @property
    def tag(self) -> str:
        """What the index records as its encoder: the model and the database it belongs to."""
        return f"{self.encoder.name}|{self.owner()}"

    def load(self) -> bool:
        """Read the file. True if it was read; False if it was missing or unusable, in which
        case the index starts empty and `load_error` says why."""
        with self._lock:
            self.load_error = None
            tag = self.tag
            try:
                index = DenseIndex.load(self.path, dim=self.encoder.dim)
                if index.encoder != tag:
                    raise DenseIndexError(f"dense index {self.path}: {self._mismatch(index)}")
            except DenseIndexError as exc:
                self.load_error = str(exc)
                if self.path.exists():
                    log.warning("%s (starting an empty index: %s)", exc, self.rebuild_hint)
                else:
                    log.info("no dense index yet at %s", self.path)
                self._index = DenseIndex(self.encoder.dim, encoder=tag)
                return False
            self._index = index
            return True

    def _mismatch(self, index: DenseIndex) -> str:
        built_model, _, built_owner = index.encoder.partition("|")
        model, _, owner = self.tag.partition("|")
        if built_model != model:
            return f"it was built with encoder {built_model!r}, not {model!r}; rebuild it"
        return f"it was built for another database ({built_owner or '?'}, not {owner}); rebuild it"

    @property
    def index(self) -> DenseIndex:
        """The index, loaded on first use."""
        with self._lock:
            if self._index is None:
                self.load()
            assert self._index is not None
            return self._index

    def save(self) -> None:
        with self._lock:
            self.index.save(self.path)

    @property
    def loaded(self) -> bool:
        return self._index is not None
