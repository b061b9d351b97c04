"""Facts embedded into FAISS beside the knowledge cache, and recall of facts for a goal."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from memory import FactIndex, KnowledgeCache, default_fact_index_path, recall
from retriever.encoder import Encoder

REPO = Path(__file__).resolve().parents[2]

FACTS = [
    ("Mona Lisa", "painter", "Leonardo da Vinci", "wiki:Mona Lisa"),
    ("Mona Lisa", "location", "the Louvre in Paris", "wiki:Mona Lisa"),
    ("Eiffel Tower", "height", "330 metres", "wiki:Eiffel Tower"),
    ("Saturn", "largest moon", "Titan", "wiki:Saturn"),
    ("Ludwig van Beethoven", "birth year", "1770", "wiki:Beethoven"),
    ("Python (programming language)", "designer", "Guido van Rossum", "wiki:Python"),
]


class HashingEncoder(Encoder):
    """A cheap deterministic bag-of-words encoder (for file and concurrency tests, where what
    matters is which ids are indexed, not the quality of the vectors)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[str] = []

    @property
    def name(self) -> str:
        return "test/hashing-bow"

    @property
    def dim(self) -> int:
        return 64

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out


def fill(cache: KnowledgeCache) -> list[int]:
    for _, _, _, source in FACTS:
        cache.add_document(
            source, f"https://en.wikipedia.org/wiki/{source[5:]}", source[5:], "wiki"
        )
    return cache.record_facts(
        {"subject": s, "attribute": a, "value": v, "source_id": src, "run_id": "r1"}
        for s, a, v, src in FACTS
    )


def test_lookup_by_meaning_with_sources(tmp_path: Path, minilm_encoder: Encoder) -> None:
    cache = KnowledgeCache(tmp_path / "knowledge.db")
    fill(cache)
    index = FactIndex(cache, minilm_encoder)
    assert index.path == default_fact_index_path(cache.path)
    assert index.path.name == "knowledge.db.facts.faiss"
    found = index.search("Who created the famous portrait of Lisa Gherardini?", 2)
    assert found[0].value == "Leonardo da Vinci" and found[0].score is not None
    assert found[0].url == "https://en.wikipedia.org/wiki/Mona Lisa"
    assert index.search("which composer was born in Bonn", 1)[0].subject == "Ludwig van Beethoven"
    # recall: by meaning (no word of the goal is in the fact) and by words, with a threshold
    by_meaning = recall(cache, "Find the tallest iron lattice tower's size", index=index)
    assert by_meaning and by_meaning[0].subject == "Eiffel Tower"
    assert recall(cache, "Find the population of Bolivia", "Bolivia population", index=index) == []
    assert recall(cache, "Find the painter", "Mona Lisa painter")[0].value == "Leonardo da Vinci"
    index.close()
    cache.close()


def test_incremental_sync_no_stale_hits_and_reload(tmp_path: Path) -> None:
    cache = KnowledgeCache(tmp_path / "knowledge.db")
    ids = fill(cache)
    encoder = HashingEncoder()
    index = FactIndex(cache, encoder)
    assert not index.load() and "missing" in (index.load_error or "")
    assert index.sync(save=True) == len(FACTS) and len(index) == len(FACTS)
    assert index.sync() == 0  # nothing new: nothing embedded
    newer = cache.record_fact("Titan", "parent planet", "Saturn", "wiki:Titan")
    encoder.encoded.clear()
    assert index.sync(save=True) == 1 and encoder.encoded == ["Titan — parent planet: Saturn"]
    # a reloaded index needs no re-embedding
    encoder.encoded.clear()
    again = FactIndex(cache, encoder)
    assert again.load() and len(again) == len(FACTS) + 1
    assert again.sync() == 0 and encoder.encoded == []
    # cleared facts leave no stale hit
    cache.clear("facts")
    assert again.search("Titan parent planet Saturn", 5) == []
    assert len(again) == 0
    kept = cache.record_fact("Titan", "parent planet", "Saturn", "wiki:Titan")
    assert kept > newer > max(ids)  # ids are never reused
    assert [f.id for f in again.search("Titan parent planet Saturn", 5)] == [kept]
    again.close()
    cache.close()


def test_missing_corrupt_or_foreign_index_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = KnowledgeCache(tmp_path / "knowledge.db")
    fill(cache)
    index = FactIndex(cache, HashingEncoder())
    index.sync(save=True)
    path = index.path
    # corrupt: a flipped byte
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    caplog.set_level(logging.WARNING)
    damaged = FactIndex(cache, HashingEncoder())
    assert not damaged.load() and "checksum" in (damaged.load_error or "")
    assert "rebuilding the fact index" in caplog.text
    assert damaged.sync(save=True) == len(FACTS)
    assert FactIndex(cache, HashingEncoder()).load()
    # foreign: an index of another cache file (same encoder) is not used
    other_cache = KnowledgeCache(tmp_path / "other.db")
    fill(other_cache)
    foreign = FactIndex(other_cache, HashingEncoder(), path=path)
    assert not foreign.load() and "another database" in (foreign.load_error or "")
    assert foreign.sync() == len(FACTS)
    # missing sidecar: rebuilt too
    Path(f"{path}.json").unlink()
    assert not FactIndex(cache, HashingEncoder()).load()
    cache.close()
    other_cache.close()


def test_concurrent_writers_and_a_syncing_reader_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    writers, each = 8, 60
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []
    reader_cache = KnowledgeCache(path)
    index = FactIndex(reader_cache, HashingEncoder(), save_every=0.0)

    def write(writer: int) -> None:
        try:
            barrier.wait()
            with KnowledgeCache(path) as cache:
                for i in range(each):
                    cache.record_fact(f"item {writer} {i}", "rank", str(i), f"doc:{writer}")
        except BaseException as error:
            errors.append(error)

    def read() -> None:
        try:
            barrier.wait()
            for _ in range(20):
                index.sync()
                index.search("item rank", 3)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    index.sync(save=True)
    assert len(index) == writers * each == len(reader_cache.fact_ids())
    reloaded = FactIndex(reader_cache, HashingEncoder())
    assert reloaded.load() and set(reloaded.index.ids().tolist()) == set(reader_cache.fact_ids())
    reader_cache.close()


_SYNCING_WRITER = """
import sys
sys.path.insert(0, sys.argv[2])
from memory import FactIndex, KnowledgeCache
from tests.memory.test_fact_index import HashingEncoder

cache = KnowledgeCache(sys.argv[1])
index = FactIndex(cache, HashingEncoder(), save_every=0.0)
batch = 0
while True:
    cache.record_facts(
        {"subject": f"entity {batch} {j}", "attribute": "note", "value": str(j),
         "source_id": f"doc:{batch}"}
        for j in range(200)
    )
    index.sync()  # saves every time: the kill lands inside a save sooner or later
    batch += 1
    print(batch, flush=True)
"""


def test_process_killed_while_saving_leaves_an_index_that_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SYNCING_WRITER, str(path), str(REPO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    try:
        committed = 0
        while committed < 15:
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read() if proc.stderr else ''}"
            committed = int(line)
            assert time.monotonic() < deadline
    finally:
        proc.kill()
        proc.wait()
    with KnowledgeCache(path) as cache:
        live = set(cache.fact_ids())
        assert len(live) >= 15 * 200
        index = FactIndex(cache, HashingEncoder())
        index.load()  # whole old file, whole new file, or a clear "rebuild" (never a crash)
        index.sync()
        assert set(index.index.ids().tolist()) == live
        hits = index.search("entity 3 7 note", 20)
        assert any(f.subject == "entity 3 7" for f in hits)
