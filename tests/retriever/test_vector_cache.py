"""The SQLite text -> vector cache in front of an encoder."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from retriever.encoder import Encoder
from retriever.vector_cache import CachedEncoder

DIM = 8


class CountingEncoder(Encoder):
    """Deterministic vectors from each text's hash; counts what it was asked to encode."""

    def __init__(self, name: str = "fake-encoder", dim: int = DIM) -> None:
        super().__init__()
        self._name = name
        self._dim = dim
        self.batches = 0
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.batches += 1
        self.texts.extend(texts)
        return np.stack([vector_of(text, self._dim) for text in texts])


def vector_of(text: str, dim: int = DIM) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


def rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])


def test_second_cache_on_same_file_does_not_reencode(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "vectors.sqlite"  # the folder is created
    texts = ["weather forecast", "currency exchange", "hotel booking"]
    first_encoder = CountingEncoder()
    first = CachedEncoder(first_encoder, path)
    vectors = first.encode(texts)
    first.close()
    assert sorted(first_encoder.texts) == sorted(texts)
    assert rows(path) == 3

    second_encoder = CountingEncoder()
    second = CachedEncoder(second_encoder, path)
    again = second.encode(texts)
    second.close()
    assert second_encoder.texts == [] and second_encoder.batches == 0
    np.testing.assert_array_equal(vectors, again)
    assert again.dtype == np.float32 and again.shape == (3, DIM)


def test_only_new_texts_are_encoded(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    encoder = CountingEncoder()
    cache = CachedEncoder(encoder, path)
    cache.encode(["a b", "c d"])
    encoder.texts.clear()
    cache.encode(["c d", "e f", "a b"])
    assert encoder.texts == ["e f"]
    cache.close()


def test_another_encoder_name_does_not_share_vectors(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    CachedEncoder(CountingEncoder("model-a"), path).encode(["hello world"])
    other = CountingEncoder("model-b")
    CachedEncoder(other, path).encode(["hello world"])
    assert other.texts == ["hello world"]


def test_cached_vectors_of_another_length_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    CachedEncoder(CountingEncoder(dim=4), path).encode(["hello world"])
    wider = CountingEncoder(dim=DIM)  # same name, different length: the row cannot be used
    out = CachedEncoder(wider, path).encode(["hello world"])
    assert wider.texts == ["hello world"] and out.shape == (1, DIM)


def test_output_order_matches_input_with_duplicates(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cache = CachedEncoder(encoder, tmp_path / "v.sqlite")
    texts = ["bravo", "alpha", "bravo", "charlie", "alpha"]
    out = cache.encode(texts)
    expected = np.stack([vector_of(text) for text in texts])
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert sorted(encoder.texts) == ["alpha", "bravo", "charlie"]  # each distinct text once
    # and again from the cache, in a different order
    shuffled = ["charlie", "bravo", "alpha", "alpha"]
    np.testing.assert_allclose(
        cache.encode(shuffled), np.stack([vector_of(t) for t in shuffled]), atol=1e-6
    )
    cache.close()


def test_empty_input(tmp_path: Path) -> None:
    cache = CachedEncoder(CountingEncoder(), tmp_path / "v.sqlite")
    out = cache.encode([])
    assert out.shape == (0, DIM) and out.dtype == np.float32


def test_no_path_means_no_cache() -> None:
    encoder = CountingEncoder()
    cache = CachedEncoder(encoder, None)
    cache.encode(["x y"])
    cache.encode(["x y"])
    assert encoder.texts == ["x y", "x y"]
    assert cache.name == "fake-encoder" and cache.dim == DIM


def test_garbage_cache_file_still_returns_vectors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "v.sqlite"
    path.write_bytes(b"this is not an SQLite database\x00\xff" * 200)
    with caplog.at_level(logging.WARNING, logger="retriever.vector_cache"):
        cache = CachedEncoder(CountingEncoder(), path)
        out = cache.encode(["one", "two"])
    np.testing.assert_allclose(out, np.stack([vector_of("one"), vector_of("two")]), atol=1e-6)
    assert any("unusable" in record.getMessage() for record in caplog.records)


def test_directory_as_cache_path_still_returns_vectors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with caplog.at_level(logging.WARNING, logger="retriever.vector_cache"):
        out = CachedEncoder(CountingEncoder(), folder).encode(["one"])
    assert out.shape == (1, DIM)
    assert any("unusable" in record.getMessage() for record in caplog.records)


def test_cache_path_under_a_file_still_returns_vectors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with caplog.at_level(logging.WARNING, logger="retriever.vector_cache"):
        out = CachedEncoder(CountingEncoder(), blocker / "v.sqlite").encode(["one"])
    assert out.shape == (1, DIM)
    assert caplog.records


def test_progress_totals_equal_number_of_texts(tmp_path: Path) -> None:
    cache = CachedEncoder(CountingEncoder(), tmp_path / "v.sqlite")
    texts = [f"text {i % 290}" for i in range(300)]  # 290 distinct: two encoder chunks
    seen: list[int] = []
    cache.encode(texts, progress=seen.append)
    assert sum(seen) == 300 and len(seen) == 2
    # all cached
    seen.clear()
    cache.encode(texts, progress=seen.append)
    assert sum(seen) == 300
    # half cached, half new
    seen.clear()
    mixed = [*texts[:10], "new one", "new two", "new one"]
    cache.encode(mixed, progress=seen.append)
    assert sum(seen) == len(mixed) and seen == [10, 3]
    cache.close()


def test_queries_are_not_stored(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    encoder = CountingEncoder()
    cache = CachedEncoder(encoder, path)
    out = cache.encode_queries(["how hot is it", "convert dollars"])
    assert out.shape == (2, DIM)
    np.testing.assert_allclose(out[0], vector_of("how hot is it"), atol=1e-6)
    assert rows(path) == 0
    cache.close()
