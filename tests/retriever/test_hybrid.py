from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np
import pytest

from retriever.dense import DenseIndex, DenseIndexError
from retriever.encoder import EncoderError
from retriever.hybrid import DenseUnavailableError, HybridSearcher, rrf
from retriever.types import Hit


def hit(doc: str, score: float = 1.0, start: int = 0, corpus: str = "c", **scores: float) -> Hit:
    return Hit(doc, corpus, f"https://x/{doc}", doc.title(), f"text of {doc}", start, start + 10,
               score, dict(scores))  # fmt: skip


def keys(hits: Sequence[Hit]) -> list[str]:
    return [f"{h.doc_id}@{h.start}" if h.start else h.doc_id for h in hits]


def test_rrf_arithmetic_by_hand() -> None:
    bm25 = [hit("a", 9.0, coverage=1.0), hit("b", 7.0), hit("c", 5.0)]
    dense = [hit("c", 0.9), hit("a", 0.8), hit("d", 0.7)]
    fused = rrf([bm25, dense], k=60, limit=10)
    # a: 1/61 + 1/62 = 0.0325224; c: 1/63 + 1/61 = 0.0322664; b: 1/62; d: 1/63
    assert keys(fused) == ["a", "c", "b", "d"]
    a, c, b, d = fused
    assert a.score == pytest.approx(1 / 61 + 1 / 62)
    assert c.score == pytest.approx(1 / 63 + 1 / 61)
    assert b.score == pytest.approx(1 / 62) and d.score == pytest.approx(1 / 63)
    assert a.scores == pytest.approx(
        {
            "bm25": 9.0,
            "bm25_rank": 1,
            "dense": 0.8,
            "dense_rank": 2,
            "rrf": 1 / 61 + 1 / 62,
            "coverage": 1.0,  # the input hits' own scores are kept
        }
    )
    assert b.scores == pytest.approx({"bm25": 7.0, "bm25_rank": 2, "rrf": 1 / 62})
    assert d.scores == pytest.approx({"dense": 0.7, "dense_rank": 3, "rrf": 1 / 63})
    # Other fields come from the first ranking that held the passage.
    assert (c.url, c.title, c.text, c.end) == ("https://x/c", "C", "text of c", 10)
    # Inputs are untouched.
    assert bm25[0].score == 9.0 and bm25[0].scores == {"coverage": 1.0}


def test_rrf_weights_k_and_limit() -> None:
    bm25 = [hit("a"), hit("b"), hit("c")]
    dense = [hit("c"), hit("a"), hit("d")]
    fused = rrf([bm25, dense], weights=[1.0, 2.0], k=60)
    # c: 1/63 + 2/61 = 0.0486637 beats a: 1/61 + 2/62 = 0.0486515; then d: 2/63 > b: 1/62
    assert keys(fused) == ["c", "a", "d", "b"]
    assert fused[0].score == pytest.approx(1 / 63 + 2 / 61)
    assert fused[2].score == pytest.approx(2 / 63)
    # k = 0: plain reciprocal ranks.
    assert rrf([bm25, dense], k=0)[0].score == pytest.approx(1 + 1 / 2)
    assert keys(rrf([bm25, dense], limit=2)) == ["a", "c"]
    assert rrf([bm25, dense], limit=0) == []
    # Weight 0: that ranking adds nothing and its own-only hits are left out, though its ranks
    # are still recorded.
    only_bm25 = rrf([bm25, dense], weights=[1.0, 0.0])
    assert keys(only_bm25) == ["a", "b", "c"]
    assert only_bm25[2].scores["dense_rank"] == 1 and only_bm25[2].score == pytest.approx(1 / 63)


def test_rrf_keys_on_corpus_doc_and_start() -> None:
    bm25 = [hit("a", start=0), hit("a", start=500), hit("a", corpus="other")]
    dense = [hit("a", start=500), hit("a", start=500), hit("z")]  # repeat counts once
    fused = rrf([bm25, dense])
    assert [(h.corpus, h.doc_id, h.start) for h in fused] == [
        ("c", "a", 500),
        ("c", "a", 0),
        ("other", "a", 0),
        ("c", "z", 0),
    ]
    assert fused[0].scores["dense_rank"] == 1 and fused[0].scores["bm25_rank"] == 2
    # other/a (bm25 rank 3) and z (dense rank 3: the repeat keeps its slot) tie on score and on
    # best rank: the one seen first comes first.
    assert fused[2].score == fused[3].score == pytest.approx(1 / 63)


def test_rrf_names_and_errors() -> None:
    r = [[hit("a")], [hit("a")], [hit("a")]]
    assert set(rrf(r)[0].scores) == {
        "bm25",
        "bm25_rank",
        "dense",
        "dense_rank",
        "ranker2",
        "ranker2_rank",
        "rrf",
    }
    assert "title_rank" in rrf(r, names=["x", "y", "title"])[0].scores
    assert rrf([]) == []
    with pytest.raises(ValueError, match="weights"):
        rrf(r, weights=[1.0])
    with pytest.raises(ValueError, match=">= 0"):
        rrf(r, weights=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match=">= 0"):
        rrf(r, weights=[1.0, float("nan"), 1.0])
    with pytest.raises(ValueError, match="names"):
        rrf(r, names=["x", "y"])
    with pytest.raises(ValueError, match="distinct"):
        rrf(r, names=["x", "x", "y"])
    with pytest.raises(ValueError, match="k must"):
        rrf(r, k=-1)


class Recorder:
    def __init__(self, hits: list[Hit] | Exception) -> None:
        self.hits = hits
        self.calls: list[tuple[str, int]] = []

    def __call__(self, query: str, n: int) -> list[Hit]:
        self.calls.append((query, n))
        if isinstance(self.hits, Exception):
            raise self.hits
        return self.hits[:n]


BM25 = [hit("a", 3.0), hit("b", 2.0), hit("c", 1.0)]
DENSE = [hit("c", 0.9), hit("d", 0.8), hit("a", 0.7)]


def test_hybrid_fuses_both_sides() -> None:
    bm25, dense = Recorder(BM25), Recorder(DENSE)
    searcher = HybridSearcher(bm25, dense, candidates=20)
    fused = searcher.search("query", 3)
    assert bm25.calls == dense.calls == [("query", 20)]
    # a and c tie (1/61 + 1/63) with the same best rank: a, seen first, leads; b and d tie too.
    assert keys(fused) == ["a", "c", "b"]
    assert set(fused[0].scores) >= {"bm25", "bm25_rank", "dense", "dense_rank", "rrf"}
    assert searcher.last_dense_error is None
    assert searcher.search("query", 0) == []
    # More than `candidates` asked for: each side is asked for k.
    searcher.search("q", 30)
    assert bm25.calls[-1] == ("q", 30)
    # Weights lean on the dense side: c 1/63 + 3/61, a 1/61 + 3/63, d 3/62, b 1/62.
    leaning = HybridSearcher(Recorder(BM25), Recorder(DENSE), weights=(1.0, 3.0))
    assert keys(leaning.search("q", 4)) == ["c", "a", "d", "b"]


@pytest.mark.parametrize(
    "failure",
    [
        DenseUnavailableError("vectors are being built"),
        DenseIndexError("dense index x: the index file is missing; rebuild it"),
        EncoderError("POST http://h/v1/embeddings failed after 3 attempt(s)"),
    ],
)
def test_hybrid_falls_back_to_bm25_order(
    failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    searcher = HybridSearcher(Recorder(BM25), Recorder(failure))
    with caplog.at_level(logging.WARNING, logger="retriever.hybrid"):
        first = searcher.search("q", 10)
        searcher.search("q", 10)
    assert keys(first) == ["a", "b", "c"]
    assert first[0].scores == pytest.approx({"bm25": 3.0, "bm25_rank": 1, "rrf": 1 / 61})
    assert searcher.last_dense_error is failure
    warnings = [r for r in caplog.records if "dense side unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once per cause, not per query


def test_hybrid_without_dense_side_or_with_no_vectors_yet() -> None:
    bm25 = Recorder(BM25)
    assert keys(HybridSearcher(bm25, None).search("q", 2)) == ["a", "b"]
    assert keys(HybridSearcher(bm25, Recorder([])).search("q", 5)) == ["a", "b", "c"]
    dense = Recorder(DENSE)
    assert keys(HybridSearcher(bm25, dense, weights=(1.0, 0.0)).search("q", 5)) == ["a", "b", "c"]
    assert dense.calls == []  # weight 0: not even asked


def test_hybrid_does_not_hide_bugs() -> None:
    searcher = HybridSearcher(Recorder(BM25), Recorder(ZeroDivisionError("bug")))
    with pytest.raises(ZeroDivisionError):
        searcher.search("q", 3)
    with pytest.raises(ValueError, match="weights"):
        HybridSearcher(Recorder(BM25), None, weights=(1.0, -2.0))


def test_hybrid_over_a_real_dense_index() -> None:
    """End to end with a toy bag-of-words encoder: dense finds a passage BM25 misses."""
    passages = [
        hit_with_text("cat", "the cat sat on the mat"),
        hit_with_text("dog", "a dog barked loudly"),
        hit_with_text("kitten", "a young feline kitten purrs"),
    ]
    vocab = {"cat": 0, "feline": 0, "kitten": 0, "dog": 1, "barked": 1, "mat": 2, "pets": 3}

    def embed(text: str) -> np.ndarray:
        v = np.zeros(4, np.float32)
        for word in re.findall(r"\w+", text.lower()):
            if word in vocab:
                v[vocab[word]] += 1
        return v / (np.linalg.norm(v) or 1.0)

    index = DenseIndex(4, encoder="toy")
    index.add(np.stack([embed(p.text) for p in passages]), np.arange(len(passages)))

    def dense_search(query: str, n: int) -> list[Hit]:
        scores, ids = index.search(embed(query), n)
        return [
            Hit(**{**vars(passages[i]), "score": float(s)})
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0 and s > 0
        ]

    def bm25_search(query: str, n: int) -> list[Hit]:
        words = set(query.lower().split())
        return [p for p in passages if words & set(p.text.split())][:n]

    fused = HybridSearcher(bm25_search, dense_search).search("cat", 3)
    assert keys(fused) == ["cat", "kitten"]
    # kitten is dense's best (cosine 1.0, cat 0.71) but unknown to BM25: fused second.
    assert "bm25" not in fused[1].scores and fused[1].scores["dense_rank"] == 1
    assert fused[0].scores["bm25_rank"] == 1 and fused[0].scores["dense_rank"] == 2


def hit_with_text(doc: str, text: str) -> Hit:
    return Hit(doc, "c", "", doc, text, 0, len(text), 0.0)
