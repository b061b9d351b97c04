"""Dense vector search over FAISS: exact below a size threshold, HNSW above it.

A `DenseIndex` maps int64 ids (>= 0; the corpus store's passage ids) to unit-length float32
vectors and answers inner-product (= cosine) top-k queries.

- **flat** (exact): `IndexIDMap2(IndexFlatIP)` while the index holds at most `hnsw_threshold`
  vectors. Removal is real (`remove_ids`).
- **hnsw** (approximate): `IndexIDMap2(IndexHNSWFlat)`, M=32, efSearch=256 (at least k), once
  an `add` takes the index past the threshold (one rebuild, then incremental adds). HNSW cannot
  delete, so a removed or replaced vector is a *tombstone*: its entry in the id map is set to -1
  and every search filters -1 out inside FAISS (an `IDSelectorNot(IDSelectorRange(-1, 0))`), so
  no stale id is ever returned. When tombstones exceed `max_tombstone_fraction` of the stored
  vectors the index is compacted (rebuilt from its own stored vectors, chunk by chunk); a
  compaction that leaves fewer than half the threshold goes back to flat.

Adding an id that is already present replaces its vector (re-ingesting a document).

**Threshold: 50,000 vectors** (measured on the 2-core dev machine, 384-d, figures noisy):
single-query flat search took p50 2.1 ms at 25k, 7.5 ms at 50k, 15 ms at 100k and 30 ms at
200k vectors (it is memory-bound and linear), against the hybrid-search goal of p50 < 30 ms for
BM25 + query encoding (7-13 ms with MiniLM) + dense. HNSW32 answers in ~0.5-1 ms at 100k with
recall@10 0.986 (efSearch 64) / 0.998 (efSearch 128) on low-rank synthetic data (real MiniLM
vectors are harder: see `EF_SEARCH`), and builds at
~8,000 vectors/s, so crossing the threshold costs one ~6 s rebuild, small beside the ~35 min it
takes to encode 50k passages. Below 50k the exact index is fast enough and has no recall loss
and no tombstones. (On isotropic random vectors, unlike real embeddings, HNSW recall collapses:
0.24 at 50k; measure with structured data.)

Persistence: `save(path)` writes the FAISS file (atomically, via a temporary file) and a
sidecar `path + ".json"` with format, dim, count, kind, encoder name and the file's SHA-256;
`DenseIndex.load(path)` checks all of it and raises `DenseIndexError` with a clear message for a
missing, truncated, corrupt or foreign file, or one built with another encoder: the caller
rebuilds from SQLite.

GPU: when faiss-gpu is installed and `faiss.get_num_gpus() > 0`, a flat index is copied to GPU 0
for searching (refreshed after each change); HNSW stays on the CPU. faiss is imported on first
use, not with the module.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = [
    "EF_CONSTRUCTION",
    "EF_SEARCH",
    "HNSW_M",
    "HNSW_THRESHOLD",
    "MAX_TOMBSTONE_FRACTION",
    "DenseIndex",
    "DenseIndexError",
    "sidecar_path",
]

log = logging.getLogger(__name__)

HNSW_THRESHOLD = 50_000
"""Above this many vectors the index switches from exact (flat) to HNSW; see the module doc."""
HNSW_M = 32
EF_CONSTRUCTION = 100
"""HNSW build depth. On the 159,848 MiniLM vectors of the shared corpora, 100 instead of 40
raised recall@10 at efSearch 128 from 0.940 to 0.960 (256: 0.959 -> 0.970) for a build of
40 s instead of 21 s: nothing beside the 2.5 h it takes to encode them."""
EF_SEARCH = 256
"""HNSW search depth (at least k). A search-time setting: `load` applies the current value, not
the one saved. Measured on the 159,848 MiniLM vectors of the shared corpora (240 title and
keyword queries, recall@10 against exact search): efSearch 32: 0.856 (0.34 ms), 64: 0.884
(0.51 ms), 128: 0.939 (0.86 ms), 256: 0.960 (1.77 ms) with an efConstruction-40 graph; 256 is
the smallest that meets 0.95 there, and gives 0.970 on a graph built with `EF_CONSTRUCTION`."""
MAX_TOMBSTONE_FRACTION = 0.2
FORMAT = "wideseek-dense-index"
FORMAT_VERSION = 1
_CHUNK = 65_536
_DEAD = -1

Kind = Literal["flat", "hnsw"]


class DenseIndexError(RuntimeError):
    """The index file is missing, corrupt, foreign or does not match the encoder: rebuild it."""


def sidecar_path(path: str | Path) -> Path:
    """The metadata file beside an index file: `dense.faiss` -> `dense.faiss.json`."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a dependency
        raise DenseIndexError(
            "dense search needs FAISS: pip install faiss-cpu==1.15.1 (or faiss-gpu)"
        ) from exc
    return faiss


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


class DenseIndex:
    """Inner-product top-k search over vectors keyed by int64 ids; thread-safe.

    `encoder` names the encoder that made the vectors (stored in the sidecar and checked by
    `load`). `use_gpu`: None = use a GPU when faiss-gpu sees one.
    """

    def __init__(
        self,
        dim: int,
        *,
        encoder: str = "",
        hnsw_threshold: int = HNSW_THRESHOLD,
        hnsw_m: int = HNSW_M,
        ef_construction: int = EF_CONSTRUCTION,
        ef_search: int = EF_SEARCH,
        max_tombstone_fraction: float = MAX_TOMBSTONE_FRACTION,
        use_gpu: bool | None = None,
    ) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if hnsw_threshold < 0:
            raise ValueError("hnsw_threshold must be >= 0")
        if not 0.0 < max_tombstone_fraction <= 1.0:
            raise ValueError("max_tombstone_fraction must be in (0, 1]")
        self.dim = dim
        self.encoder = encoder
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.max_tombstone_fraction = max_tombstone_fraction
        self._faiss = _faiss()
        self._lock = threading.RLock()
        self._kind: Kind = "flat"
        self._index: Any = self._new_flat()
        self._dead = 0
        self._use_gpu = use_gpu
        self._gpu_resources: Any = None
        self._gpu_index: Any = None
        # Kept on self: FAISS holds raw pointers to these while searching.
        self._live_selector = self._faiss.IDSelectorNot(self._faiss.IDSelectorRange(_DEAD, 0))

    # -- facts -------------------------------------------------------------------------------

    @property
    def kind(self) -> Kind:
        """ "flat" (exact) or "hnsw" (approximate)."""
        return self._kind

    @property
    def count(self) -> int:
        """Number of live vectors."""
        with self._lock:
            return int(self._index.ntotal) - self._dead

    def __len__(self) -> int:
        return self.count

    @property
    def tombstones(self) -> int:
        """Removed or replaced vectors still stored in an HNSW index (always 0 for flat)."""
        return self._dead

    def ids(self) -> np.ndarray:
        """The live ids (int64), in storage order."""
        with self._lock:
            stored = self._id_map_copy()
            return stored[stored != _DEAD] if self._dead else stored

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, int | np.integer) or int(item) < 0:
            return False
        with self._lock:
            return bool((self._id_map_copy() == int(item)).any())

    def __repr__(self) -> str:
        return (
            f"DenseIndex(kind={self._kind!r}, dim={self.dim}, count={self.count}, "
            f"tombstones={self._dead}, encoder={self.encoder!r})"
        )

    # -- building ----------------------------------------------------------------------------

    def _new_flat(self) -> Any:
        return self._faiss.IndexIDMap2(self._faiss.IndexFlatIP(self.dim))

    def _new_hnsw(self) -> Any:
        hnsw = self._faiss.IndexHNSWFlat(self.dim, self.hnsw_m, self._faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = self.ef_construction
        hnsw.hnsw.efSearch = self.ef_search
        return self._faiss.IndexIDMap2(hnsw)

    def _id_map_view(self) -> np.ndarray:
        """A writable view of the id map (label -> id); invalid after the next add."""
        id_map = self._index.id_map
        if id_map.size() == 0:
            return np.zeros(0, dtype=np.int64)
        return self._faiss.rev_swig_ptr(id_map.data(), id_map.size())

    def _id_map_copy(self) -> np.ndarray:
        return np.asarray(self._faiss.vector_to_array(self._index.id_map), dtype=np.int64)

    def _stored_chunks(self) -> Any:
        """(vectors, ids) of the live entries, in chunks (reads the stored vectors back)."""
        stored = self._id_map_copy()
        inner = self._index.index
        for first in range(0, len(stored), _CHUNK):
            ids = stored[first : first + _CHUNK]
            vectors = inner.reconstruct_n(first, len(ids))
            live = ids != _DEAD
            if live.any():
                yield np.ascontiguousarray(vectors[live]), np.ascontiguousarray(ids[live])

    def live_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, ids) of every live entry, read back from the index (tombstones left out):
        for checks such as recall against exact search."""
        with self._lock:
            chunks = list(self._stored_chunks())
        if not chunks:
            return np.zeros((0, self.dim), dtype=np.float32), np.zeros(0, dtype=np.int64)
        return (
            np.ascontiguousarray(np.concatenate([v for v, _ in chunks])),
            np.concatenate([i for _, i in chunks]),
        )

    def _rebuild(self, kind: Kind, extra: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Build a fresh index of `kind` from the live entries (plus `extra`)."""
        started = time.perf_counter()
        fresh = self._new_hnsw() if kind == "hnsw" else self._new_flat()
        for vectors, ids in self._stored_chunks():
            fresh.add_with_ids(vectors, ids)
        if extra is not None:
            vectors, ids = extra
            for first in range(0, len(ids), _CHUNK):
                fresh.add_with_ids(vectors[first : first + _CHUNK], ids[first : first + _CHUNK])
        before = (self._kind, int(self._index.ntotal), self._dead)
        self._index, self._kind, self._dead = fresh, kind, 0
        self._gpu_index = None
        log.info(
            "dense index rebuilt: %s with %d stored (%d tombstones) -> %s with %d, in %.1f s",
            *before,
            kind,
            int(fresh.ntotal),
            time.perf_counter() - started,
        )

    def _check_vectors(self, vectors: Any) -> np.ndarray:
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError("vectors contain NaN or infinity")
        return np.ascontiguousarray(array)

    @staticmethod
    def _check_ids(ids: Any, count: int | None = None) -> np.ndarray:
        array = np.asarray(ids)
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
            raise ValueError("ids must be a 1-d sequence of integers")
        array = np.ascontiguousarray(array, dtype=np.int64)
        if count is not None and len(array) != count:
            raise ValueError(f"got {count} vectors but {len(array)} ids")
        if array.size and array.min() < 0:
            raise ValueError("ids must be >= 0")
        return array

    # -- changing ----------------------------------------------------------------------------

    def add(self, vectors: Any, ids: Any) -> None:
        """Add `vectors` (n, dim) under `ids` (n,), replacing the vectors of ids already here.

        Incremental: only when the index first grows past `hnsw_threshold` is it rebuilt (as
        HNSW, once). Vectors should be unit length (an `Encoder`'s output is)."""
        array = self._check_vectors(vectors)
        keys = self._check_ids(ids, len(array))
        if len(np.unique(keys)) != len(keys):
            raise ValueError("ids must be unique within one add()")
        if not len(keys):
            return
        with self._lock:
            self._drop(keys)
            if self._kind == "flat" and self.count + len(keys) > self.hnsw_threshold:
                self._rebuild("hnsw", extra=(array, keys))
            else:
                for first in range(0, len(keys), _CHUNK):
                    self._index.add_with_ids(
                        array[first : first + _CHUNK], keys[first : first + _CHUNK]
                    )
                self._gpu_index = None
            self._maybe_compact()

    def remove(self, ids: Any) -> int:
        """Remove the vectors of `ids` (unknown ids are ignored); returns how many were removed.
        No later search returns them."""
        keys = self._check_ids(ids)
        if not len(keys):
            return 0
        with self._lock:
            removed = self._drop(np.unique(keys))
            self._maybe_compact()
            return removed

    def _drop(self, keys: np.ndarray) -> int:
        if self._kind == "flat":
            removed = int(self._index.remove_ids(self._faiss.IDSelectorBatch(keys)))
        else:
            view = self._id_map_view()
            hit = np.isin(view, keys)
            removed = int(hit.sum())
            view[hit] = _DEAD
            self._dead += removed
        if removed:
            self._gpu_index = None
        return removed

    def _maybe_compact(self) -> None:
        if self._dead and self._dead > self.max_tombstone_fraction * int(self._index.ntotal):
            self.compact()

    def compact(self) -> None:
        """Rebuild without tombstones (HNSW), going back to flat below half the threshold."""
        with self._lock:
            if self._kind == "flat":
                return
            live = self.count
            self._rebuild("flat" if live < self.hnsw_threshold // 2 else "hnsw")

    # -- searching ---------------------------------------------------------------------------

    def search(self, vectors: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` by inner product for each query row: `(scores, ids)`, both `(nq, k')` with
        `k' = min(k, count)`, best first. A slot with no result has id -1 and score -inf."""
        queries = self._check_vectors(vectors)
        with self._lock:
            want = min(max(k, 0), self.count)
            if want == 0 or not len(queries):
                return (
                    np.zeros((len(queries), 0), dtype=np.float32),
                    np.zeros((len(queries), 0), dtype=np.int64),
                )
            if self._kind == "flat":
                scores, ids = self._flat_index().search(queries, want)
            else:
                params = self._faiss.SearchParametersHNSW()
                params.efSearch = max(self.ef_search, want)
                if self._dead:
                    params.sel = self._live_selector
                scores, ids = self._index.search(queries, want, params=params)
        ids = np.asarray(ids, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float32)
        scores[ids < 0] = -np.inf
        ids[ids < 0] = -1
        return scores, ids

    def _flat_index(self) -> Any:
        if self._use_gpu is False:
            return self._index
        if self._gpu_index is None and self._gpu_wanted():
            try:
                if self._gpu_resources is None:
                    self._gpu_resources = self._faiss.StandardGpuResources()
                self._gpu_index = self._faiss.index_cpu_to_gpu(self._gpu_resources, 0, self._index)
            except Exception as exc:  # any FAISS/CUDA failure: search on the CPU instead
                log.warning("dense index: GPU unavailable (%s); searching on the CPU", exc)
                self._use_gpu = False
                return self._index
        return self._gpu_index if self._gpu_index is not None else self._index

    def _gpu_wanted(self) -> bool:
        try:
            available = bool(
                hasattr(self._faiss, "StandardGpuResources") and self._faiss.get_num_gpus() > 0
            )
        except Exception:
            available = False
        if self._use_gpu and not available:
            log.warning("dense index: use_gpu set but faiss sees no GPU; searching on the CPU")
        self._use_gpu = available
        return available

    # -- files -------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the index to `path` and its sidecar to `path + ".json"` (each atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with self._lock:
            self._faiss.write_index(self._index, str(tmp))
            meta = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "dim": self.dim,
                "count": self.count,
                "stored": int(self._index.ntotal),
                "tombstones": self._dead,
                "kind": self._kind,
                "encoder": self.encoder,
                "hnsw_threshold": self.hnsw_threshold,
                "hnsw_m": self.hnsw_m,
                "ef_construction": self.ef_construction,
                "ef_search": self.ef_search,
                "max_tombstone_fraction": self.max_tombstone_fraction,
                "saved": time.time(),
            }
        _fsync(tmp)
        meta["size"] = tmp.stat().st_size
        meta["checksum"] = "sha256:" + _sha256(tmp)
        os.replace(tmp, path)
        side = sidecar_path(path)
        side_tmp = side.with_name(side.name + ".tmp")
        side_tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _fsync(side_tmp)
        os.replace(side_tmp, side)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        encoder: str | None = None,
        dim: int | None = None,
        verify: bool = True,
        use_gpu: bool | None = None,
        ef_search: int | None = None,
    ) -> DenseIndex:
        """Read an index written by `save`. `encoder` / `dim`, when given, must match what it was
        built with. `verify` checks the SHA-256 (reads the whole file once more). `ef_search`
        (default `EF_SEARCH`) is the HNSW search depth to use from now on.

        Raises `DenseIndexError` (the message says what is wrong and to rebuild) if anything is
        missing, corrupt, foreign or mismatched."""
        path = Path(path)
        side = sidecar_path(path)
        hint = "rebuild it from the database"

        def fail(problem: str) -> DenseIndexError:
            return DenseIndexError(f"dense index {path}: {problem}; {hint}")

        if not path.is_file():
            raise fail("the index file is missing")
        if not side.is_file():
            raise fail(f"its metadata file {side.name} is missing")
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise fail(f"its metadata file {side.name} is unreadable ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise fail(f"{side.name} is not a wideseek dense-index metadata file")
        if meta.get("version") != FORMAT_VERSION:
            raise fail(f"format version {meta.get('version')!r} is not {FORMAT_VERSION}")
        try:
            stored_dim = int(meta["dim"])
            count = int(meta["count"])
            kind = str(meta["kind"])
            size = int(meta["size"])
            checksum = str(meta["checksum"])
            built_with = str(meta.get("encoder", ""))
        except (KeyError, TypeError, ValueError) as exc:
            raise fail(f"{side.name} lacks or garbles {exc}") from None
        if kind not in ("flat", "hnsw"):
            raise fail(f"unknown index kind {kind!r}")
        if encoder is not None and built_with != encoder:
            raise fail(f"it was built with encoder {built_with!r}, not {encoder!r}")
        if dim is not None and stored_dim != dim:
            raise fail(f"it holds {stored_dim}-d vectors, not {dim}-d")
        if path.stat().st_size != size:
            raise fail(f"the file is {path.stat().st_size} bytes, expected {size} (truncated?)")
        if verify and "sha256:" + _sha256(path) != checksum:
            raise fail("the checksum does not match (the file is corrupt)")
        faiss = _faiss()
        try:
            raw = faiss.read_index(str(path))
        except Exception as exc:  # FAISS raises RuntimeError with a C++ message
            raise fail(f"FAISS cannot read it ({str(exc).splitlines()[0][:200]})") from None
        try:
            inner = faiss.downcast_index(raw.index)
        except AttributeError:
            raise fail(f"it is a {type(raw).__name__}, not an id-mapped index") from None
        expected = faiss.IndexHNSWFlat if kind == "hnsw" else faiss.IndexFlatIP
        if not isinstance(raw, faiss.IndexIDMap2) or not isinstance(inner, expected):
            raise fail(f"it is a {type(raw).__name__}({type(inner).__name__}), not a {kind} index")
        if raw.d != stored_dim:
            raise fail(f"it holds {raw.d}-d vectors but its metadata says {stored_dim}")
        if inner.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise fail("it does not use inner product")
        index = cls(
            stored_dim,
            encoder=built_with,
            hnsw_threshold=int(meta.get("hnsw_threshold", HNSW_THRESHOLD)),
            hnsw_m=int(meta.get("hnsw_m", HNSW_M)),
            ef_construction=int(meta.get("ef_construction", EF_CONSTRUCTION)),
            ef_search=ef_search if ef_search is not None else EF_SEARCH,
            max_tombstone_fraction=float(
                meta.get("max_tombstone_fraction", MAX_TOMBSTONE_FRACTION)
            ),
            use_gpu=use_gpu,
        )
        index._index = raw
        index._kind = "hnsw" if kind == "hnsw" else "flat"
        stored = index._id_map_copy()
        index._dead = int((stored == _DEAD).sum())
        if index._kind == "flat" and index._dead:
            raise fail("a flat index holds removed entries")
        if index.count != count:
            raise fail(f"it holds {index.count} vectors but its metadata says {count}")
        return index
