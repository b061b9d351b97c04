from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from retriever.dense import EF_SEARCH, DenseIndex, DenseIndexError, sidecar_path

DIM = 32


def lowrank(n: int, seed: int = 0, dim: int = DIM, rank: int = 8) -> np.ndarray:
    """Unit vectors near a random `rank`-d subspace: structured like real embeddings (isotropic
    random vectors are a worst case where HNSW recall collapses, unlike real text)."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim)).astype(np.float32)
    x = rng.standard_normal((n, rank)).astype(np.float32) @ basis
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x += 0.05 * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def ids_for(n: int, offset: int = 0) -> np.ndarray:
    # Large ids, like the corpus store's (corpus << 40) + n passage ids.
    return (np.arange(n, dtype=np.int64) + offset) + (3 << 40)


def brute_force(x: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = q @ x.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids[order]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    pairs = zip(found, truth, strict=True)
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in pairs]))


def test_flat_search_is_exact() -> None:
    x, ids = lowrank(500), ids_for(500)
    index = DenseIndex(DIM, encoder="toy")
    index.add(x, ids)
    assert index.kind == "flat" and index.count == len(index) == 500
    q = lowrank(20, seed=1)
    scores, found = index.search(q, 10)
    assert scores.shape == found.shape == (20, 10)
    assert scores.dtype == np.float32 and found.dtype == np.int64
    assert recall(found, brute_force(x, ids, q, 10)) == 1.0
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    # A single 1-d query works too, and a stored vector finds itself with score ~1.
    s1, f1 = index.search(x[7], 1)
    assert f1[0, 0] == ids[7] and s1[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_hnsw_recall_against_exact() -> None:
    n = 6000
    x, ids = lowrank(n, seed=2), ids_for(n)
    q = lowrank(200, seed=3)
    exact = DenseIndex(DIM)
    exact.add(x, ids)
    approx = DenseIndex(DIM, hnsw_threshold=1000)
    approx.add(x, ids)
    assert exact.kind == "flat" and approx.kind == "hnsw"
    _, truth = exact.search(q, 10)
    _, found = approx.search(q, 10)
    assert recall(found, truth) >= 0.95


def test_incremental_add_switches_to_hnsw_once_and_keeps_everything() -> None:
    x, ids = lowrank(3000, seed=4), ids_for(3000)
    index = DenseIndex(DIM, hnsw_threshold=1000)
    kinds = []
    for first in range(0, 3000, 500):
        index.add(x[first : first + 500], ids[first : first + 500])
        kinds.append(index.kind)
        assert index.count == first + 500
    assert kinds == ["flat", "flat", "hnsw", "hnsw", "hnsw", "hnsw"]
    assert sorted(index.ids().tolist()) == ids.tolist()
    # Every vector finds itself, including those added after the switch.
    _, found = index.search(x[::50], 1)
    assert found[:, 0].tolist() == ids[::50].tolist()
    assert int(ids[2999]) in index and 12345 not in index and -1 not in index


@pytest.mark.parametrize("threshold", [10_000, 500], ids=["flat", "hnsw"])
def test_remove_leaves_no_stale_ids(threshold: int) -> None:
    n = 2000
    x, ids = lowrank(n, seed=5), ids_for(n)
    index = DenseIndex(DIM, hnsw_threshold=threshold, max_tombstone_fraction=0.5)
    index.add(x, ids)
    gone = ids[:300]
    assert index.remove(np.concatenate([gone, [999]])) == 300  # unknown ids ignored
    assert index.remove(gone) == 0
    assert index.count == n - 300
    assert not set(index.ids().tolist()) & set(gone.tolist())
    if index.kind == "hnsw":
        assert index.tombstones == 300
    # Query with the removed vectors themselves, asking for everything: none comes back.
    _, found = index.search(x[:300], 50)
    assert not set(found.ravel().tolist()) & set(gone.tolist())
    assert -1 not in found
    # Re-adding a removed id brings it back once, with its new vector.
    fresh = lowrank(1, seed=99)
    index.add(fresh, ids[:1])
    _, found = index.search(fresh, 5)
    assert found[0, 0] == ids[0] and found[0].tolist().count(int(ids[0])) == 1
    assert index.count == n - 299


def test_add_existing_id_replaces_its_vector() -> None:
    x, ids = lowrank(1500, seed=6), ids_for(1500)
    for threshold in (10_000, 1000):
        index = DenseIndex(DIM, hnsw_threshold=threshold, max_tombstone_fraction=1.0)
        index.add(x, ids)
        new = lowrank(1, seed=7)
        index.add(new, ids[10:11])
        assert index.count == 1500
        scores, found = index.search(x[10], 3)
        # The old vector is gone: nothing scores ~1 against it any more.
        assert not (found[0, 0] == ids[10] and scores[0, 0] > 0.999)
        scores, found = index.search(new, 1)
        assert found[0, 0] == ids[10] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_tombstones_trigger_compaction_and_shrink_back_to_flat() -> None:
    x, ids = lowrank(2000, seed=8), ids_for(2000)
    index = DenseIndex(DIM, hnsw_threshold=1000, max_tombstone_fraction=0.2)
    index.add(x, ids)
    assert index.kind == "hnsw"
    index.remove(ids[:300])  # 15%: kept as tombstones
    assert index.tombstones == 300 and index.kind == "hnsw"
    index.remove(ids[300:500])  # 25% > 20%: compacted, still above half the threshold
    assert index.tombstones == 0 and index.kind == "hnsw" and index.count == 1500
    index.remove(ids[500:1700])  # 300 left < 500: back to exact
    assert index.kind == "flat" and index.count == 300 and index.tombstones == 0
    _, found = index.search(x[1700:], 1)
    assert found[:, 0].tolist() == ids[1700:].tolist()


def test_search_edges_and_bad_input() -> None:
    index = DenseIndex(DIM)
    scores, found = index.search(lowrank(2), 5)
    assert scores.shape == found.shape == (2, 0)
    x, ids = lowrank(3), ids_for(3)
    index.add(x, ids)
    scores, found = index.search(x, 10)  # k clamped to the count
    assert found.shape == (3, 3) and set(found[0].tolist()) == set(ids.tolist())
    assert index.search(x, 0)[1].shape == (3, 0)
    with pytest.raises(ValueError, match="shape"):
        index.add(np.zeros((2, DIM + 1), np.float32), [1, 2])
    with pytest.raises(ValueError, match="ids"):
        index.add(x[:2], [1])
    with pytest.raises(ValueError, match=">= 0"):
        index.add(x[:1], [-5])
    with pytest.raises(ValueError, match="unique"):
        index.add(x[:2], [4, 4])
    with pytest.raises(ValueError, match="NaN"):
        index.add(np.full((1, DIM), np.nan, np.float32), [9])
    with pytest.raises(ValueError, match="shape"):
        index.search(np.zeros((1, 3), np.float32), 1)
    index.add(np.zeros((0, DIM), np.float32), [])
    assert index.remove([]) == 0 and index.count == 3


@pytest.mark.parametrize("threshold", [10_000, 500], ids=["flat", "hnsw"])
def test_save_load_round_trip(tmp_path: Path, threshold: int) -> None:
    x, ids = lowrank(1200, seed=9), ids_for(1200)
    index = DenseIndex(DIM, encoder="toy-encoder", hnsw_threshold=threshold)
    index.add(x, ids)
    index.remove(ids[:100])
    q = lowrank(30, seed=10)
    before = index.search(q, 10)
    path = tmp_path / "sub" / "dense.faiss"
    index.save(path)
    meta = json.loads(sidecar_path(path).read_text())
    assert meta["dim"] == DIM and meta["count"] == 1100 and meta["encoder"] == "toy-encoder"
    assert meta["kind"] == index.kind and meta["checksum"].startswith("sha256:")
    assert not list(tmp_path.glob("sub/*.tmp"))

    loaded = DenseIndex.load(path, encoder="toy-encoder", dim=DIM)
    assert (loaded.kind, loaded.count, loaded.tombstones) == (
        index.kind,
        1100,
        index.tombstones,
    )
    assert loaded.encoder == "toy-encoder" and loaded.hnsw_threshold == threshold
    after = loaded.search(q, 10)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_allclose(before[0], after[0], rtol=1e-6)
    # The loaded index keeps working incrementally.
    loaded.add(lowrank(1, seed=11), [7])
    loaded.remove(ids[100:110])
    assert loaded.count == 1091


def test_search_depth_is_a_load_time_setting(tmp_path: Path) -> None:
    index = DenseIndex(DIM, hnsw_threshold=500, ef_search=16)
    index.add(lowrank(800, seed=12), ids_for(800))
    path = tmp_path / "dense.faiss"
    index.save(path)
    assert json.loads(sidecar_path(path).read_text())["ef_search"] == 16
    assert DenseIndex.load(path).ef_search == EF_SEARCH  # the measured default, not the saved
    shallow = DenseIndex.load(path, ef_search=8)
    assert shallow.ef_search == 8 and shallow.search(lowrank(2, seed=13), 20)[1].shape == (2, 20)


def test_corrupt_or_missing_files_raise_clear_errors(tmp_path: Path) -> None:
    x, ids = lowrank(300, seed=12), ids_for(300)
    index = DenseIndex(DIM, encoder="toy")
    index.add(x, ids)
    path = tmp_path / "dense.faiss"

    with pytest.raises(DenseIndexError, match=r"missing; rebuild"):
        DenseIndex.load(path)

    index.save(path)
    good = path.read_bytes()
    with pytest.raises(DenseIndexError, match="built with encoder 'toy', not 'other'"):
        DenseIndex.load(path, encoder="other")
    with pytest.raises(DenseIndexError, match="32-d vectors, not 384-d"):
        DenseIndex.load(path, dim=384)

    corrupt = bytearray(good)
    corrupt[len(corrupt) // 2] ^= 0xFF
    path.write_bytes(bytes(corrupt))
    with pytest.raises(DenseIndexError, match="checksum"):
        DenseIndex.load(path)

    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DenseIndexError, match="truncated"):
        DenseIndex.load(path)

    # Garbage of the right size that skips the checksum still fails in FAISS, cleanly.
    path.write_bytes(b"\x00garbage" * (len(good) // 8) + b"\x00" * (len(good) % 8))
    with pytest.raises(DenseIndexError, match="FAISS cannot read it"):
        DenseIndex.load(path, verify=False)

    path.write_bytes(good)
    assert DenseIndex.load(path).count == 300
    side = sidecar_path(path)
    side.write_text("{not json")
    with pytest.raises(DenseIndexError, match="unreadable"):
        DenseIndex.load(path)
    side.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(DenseIndexError, match="not a wideseek"):
        DenseIndex.load(path)
    side.unlink()
    with pytest.raises(DenseIndexError, match=r"metadata file dense\.faiss\.json is missing"):
        DenseIndex.load(path)


def test_concurrent_adds_and_searches() -> None:
    x, ids = lowrank(4000, seed=13), ids_for(4000)
    index = DenseIndex(DIM, hnsw_threshold=1500)
    errors: list[BaseException] = []

    def writer(part: int) -> None:
        try:
            for first in range(part * 1000, part * 1000 + 1000, 100):
                index.add(x[first : first + 100], ids[first : first + 100])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(50):
                _, found = index.search(x[:5], 5)
                assert set(found.ravel().tolist()) <= set(ids.tolist()) | {-1}
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert index.count == 4000 and index.kind == "hnsw"
    assert sorted(index.ids().tolist()) == ids.tolist()
