from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from retriever.corpus_store import CorpusStore
from retriever.encoder import Encoder, MiniLMEncoder
from retriever.hybrid import DenseUnavailableError, HybridSearcher
from retriever.types import Document
from retriever.vectors import CorpusVectors, default_index_path

TOPICS = [
    ("volcano", "Mount Vesuvius erupted in the year 79 and buried the Roman town of Pompeii."),
    ("chess", "Chess is a board game for two players, each commanding sixteen pieces."),
    ("penguin", "Emperor penguins breed in Antarctica during the harsh winter months."),
    ("violin", "The violin is a bowed string instrument with four strings tuned in fifths."),
    ("bread", "Sourdough bread rises slowly thanks to wild yeast and lactic acid bacteria."),
    ("glacier", "Glaciers form where snow accumulates faster than it melts over many years."),
    ("satellite", "Sputnik was the first artificial satellite, launched by the Soviet Union."),
    ("coffee", "Coffee beans are roasted seeds of the Coffea plant, grown in the tropics."),
    ("marathon", "A marathon is a long-distance running race of about forty-two kilometres."),
    ("bridge", "The Golden Gate Bridge is a suspension bridge spanning the strait in California."),
]
PARAPHRASE = Document(
    "sleepy-cat", "The feline dozed on the warm windowsill all afternoon.", title="Afternoon"
)
PARAPHRASE_QUERY = "kitty napping"  # no word in common with any document


def corpus_documents() -> list[Document]:
    docs = [
        Document(f"{name}-{i}", f"{text} Note {i} about {name}.", title=f"{name.title()} {i}")
        for i in range(6)
        for name, text in TOPICS
    ]
    return [*docs, PARAPHRASE]  # 61 short passages


class CountingEncoder(Encoder):
    """Wraps an encoder and records every text it embeds."""

    def __init__(self, inner: Encoder) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[str] = []

    @property
    def passages(self) -> list[str]:
        """Texts embedded that were passages (title, newline, text), not queries."""
        return [text for text in self.seen if "\n" in text]

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        return self.inner.encode(texts, batch_size=len(texts))


@pytest.fixture(scope="module")
def minilm() -> Iterator[MiniLMEncoder]:
    encoder = MiniLMEncoder()
    yield encoder
    encoder.close()


@pytest.fixture
def encoder(minilm: MiniLMEncoder) -> CountingEncoder:
    return CountingEncoder(minilm)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CorpusStore]:
    with CorpusStore(tmp_path / "c.db") as opened:
        opened.add_documents("demo", corpus_documents())
        yield opened


def doc_ids(hits: Sequence) -> list[str]:
    return [hit.doc_id for hit in hits]


def test_build_search_and_files_beside_the_db(store: CorpusStore, encoder: CountingEncoder) -> None:
    vectors = CorpusVectors(store, encoder)
    assert (
        vectors.index_path == default_index_path(store.path) == store.path.with_suffix(".db.faiss")
    )
    assert not vectors.load() and "missing" in (vectors.load_error or "")
    with pytest.raises(DenseUnavailableError, match="no dense vectors"):
        vectors.search("anything", 3)
    calls: list[tuple[int, int]] = []
    assert vectors.build(progress=lambda done, todo: calls.append((done, todo)), batch=16) == 61
    assert calls[0] == (0, 61) and calls[-1] == (61, 61) and len(calls) == 1 + 4
    assert vectors.coverage() == (61, 61)
    assert vectors.index_path.is_file() and Path(f"{vectors.index_path}.json").is_file()

    hits = vectors.search("volcanic eruption that destroyed a Roman city", 3)
    assert len(hits) == 3 and all(hit.doc_id.startswith("volcano-") for hit in hits)
    assert hits[0].scores["dense"] == hits[0].score > 0.4
    # A hit carries the same fields as a BM25 hit of that passage.
    lexical = store.search(hits[0].doc_id.replace("-", " "), 50, max_per_document=None)
    twin = next(hit for hit in lexical if hit.doc_id == hits[0].doc_id)
    assert (twin.url, twin.title, twin.text, twin.start, twin.end) == (
        hits[0].url,
        hits[0].title,
        hits[0].text,
        hits[0].start,
        hits[0].end,
    )
    assert doc_ids(vectors.search("volcano", 5, max_per_document=1))[:1] != []

    # Nothing to do the second time; a reopened index is used as is.
    assert vectors.build() == 0
    again = CorpusVectors(store, encoder)
    assert again.load() and again.load_error is None and len(again) == 61
    assert len(encoder.passages) == 61


def test_resume_embeds_each_passage_once(store: CorpusStore, encoder: CountingEncoder) -> None:
    vectors = CorpusVectors(store, encoder, save_every=0)

    def stop_after_two_batches(done: int, todo: int) -> None:
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        vectors.build(progress=stop_after_two_batches, batch=10)
    assert len(encoder.passages) == 20

    resumed = CorpusVectors(store, encoder)  # a new process: reads what was saved
    assert resumed.load() and resumed.coverage() == (20, 61)
    assert resumed.build(batch=10) == 41
    assert len(encoder.passages) == 61 and len(set(encoder.passages)) == 61
    assert resumed.coverage() == (61, 61)


def test_build_by_corpus_and_corpus_filter(tmp_path: Path, encoder: CountingEncoder) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("a", corpus_documents()[:10])
        store.add_documents("b", [PARAPHRASE])
        vectors = CorpusVectors(store, encoder)
        assert vectors.build(corpora=["b"]) == 1
        assert vectors.coverage(["b"]) == (1, 1) and vectors.coverage() == (1, 11)
        assert vectors.build() == 10
        assert doc_ids(vectors.search("volcano", 3, corpora=["b"])) == ["sleepy-cat"]
        assert "sleepy-cat" not in doc_ids(vectors.search(PARAPHRASE_QUERY, 3, corpora=["a"]))


def test_reingest_and_remove_leave_no_stale_vectors(
    store: CorpusStore, encoder: CountingEncoder
) -> None:
    vectors = CorpusVectors(store, encoder)
    vectors.build()
    store.add_documents(
        "demo", [Document("volcano-0", "A recipe for lemon cake with butter and sugar.")]
    )
    store.remove_document("demo", "chess-1")
    # Before the rebuild, old vectors map to no passage and are never returned.
    assert "chess-1" not in doc_ids(vectors.search("board game with pieces", 10))
    cake = vectors.search("baking a dessert", 61)
    assert all(hit.text == store.get_document("demo", hit.doc_id).text for hit in cake)  # type: ignore[union-attr]
    assert vectors.build() == 1
    assert encoder.seen[-1].endswith("lemon cake with butter and sugar.")
    assert vectors.coverage() == (60, 60) and len(vectors) == 60
    assert doc_ids(vectors.search("baking a dessert", 1)) == ["volcano-0"]

    # The newest document removed and re-added gets new passage ids, not its old ones.
    store.add_documents("demo", [Document("zz", "Tulips bloom in spring in the Netherlands.")])
    vectors.build()
    store.remove_document("demo", "zz")
    store.add_documents("demo", [Document("zz", "Whales are the largest mammals in the sea.")])
    assert vectors.build() == 1
    assert doc_ids(vectors.search("flowers", 1)) != ["zz"]
    assert doc_ids(vectors.search("enormous ocean animals", 1)) == ["zz"]


def test_corrupt_or_foreign_index_is_reported_and_rebuilt(
    store: CorpusStore, encoder: CountingEncoder, caplog: pytest.LogCaptureFixture
) -> None:
    vectors = CorpusVectors(store, encoder)
    vectors.build()
    data = bytearray(vectors.index_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    vectors.index_path.write_bytes(bytes(data))

    broken = CorpusVectors(store, encoder)
    with caplog.at_level(logging.WARNING, logger="retriever.vectors"):
        assert broken.load() is False
    assert "corrupt" in (broken.load_error or "") and "rebuild" in (broken.load_error or "")
    assert any("corrupt" in record.getMessage() for record in caplog.records)
    with pytest.raises(DenseUnavailableError, match="corrupt"):
        broken.search("volcano", 1)
    assert broken.build() == 61
    assert CorpusVectors(store, encoder).load()

    # An index made for another database file (deleted and rebuilt) is not used.
    other_db = store.path.with_name("other.db")
    with CorpusStore(other_db) as other:
        other.add_documents("demo", corpus_documents()[:3])
        default_index_path(other_db).write_bytes(vectors.index_path.read_bytes())
        Path(f"{default_index_path(other_db)}.json").write_bytes(
            Path(f"{vectors.index_path}.json").read_bytes()
        )
        foreign = CorpusVectors(other, encoder)
        assert not foreign.load() and "another database" in (foreign.load_error or "")
        assert foreign.build() == 3


def test_paraphrase_found_by_dense_and_hybrid_not_bm25(
    store: CorpusStore, encoder: CountingEncoder
) -> None:
    vectors = CorpusVectors(store, encoder)
    hybrid = HybridSearcher(lambda q, n: store.search(q, n), vectors.search)
    # While no vectors exist, the hybrid search answers from BM25 alone.
    assert doc_ids(hybrid.search("Pompeii", 3))[0].startswith("volcano-")
    assert isinstance(hybrid.last_dense_error, DenseUnavailableError)

    vectors.build()
    assert "sleepy-cat" not in doc_ids(store.search(PARAPHRASE_QUERY, 10))
    assert doc_ids(vectors.search(PARAPHRASE_QUERY, 1)) == ["sleepy-cat"]
    fused = hybrid.search(PARAPHRASE_QUERY, 3)
    assert doc_ids(fused)[0] == "sleepy-cat" and "dense" in fused[0].scores
    assert hybrid.last_dense_error is None
