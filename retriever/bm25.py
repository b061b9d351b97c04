"""An in-memory BM25F index over short multi-field documents (tool cards), on sparse matrices.

Each document is a mapping of field name -> text; a field's term counts are multiplied by its
weight before BM25's saturation and length normalisation (BM25F's simple form). Scores for all
documents are one sparse vector-matrix product, so 10,000 documents answer in well under a
millisecond. Terms are case-folded words, with camelCase and snake_case names split, English
stopwords dropped and Snowball (Porter 2) stems.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

__all__ = ["BM25FIndex", "plain_tokenize", "tokenize"]

_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+|[^\W\d_]+", re.UNICODE)
_STOPWORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
i'm im let lets get me please want need like
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@lru_cache(maxsize=1)
def _stemmer() -> object:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))  # type: ignore[attr-defined]


def plain_tokenize(text: str) -> list[str]:
    """Case-folded words and numbers, nothing dropped or stemmed (BM25's textbook baseline)."""
    return re.findall(r"\w+", text.casefold())


def tokenize(text: str) -> list[str]:
    """Stemmed, case-folded terms of `text`, stopwords dropped ("getWeatherForecast" ->
    ["weather", "forecast"])."""
    terms: list[str] = []
    for raw in _WORD.findall(text):
        word = raw.casefold()
        if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        terms.append(_stem(word))
    return terms


class BM25FIndex:
    """BM25F over documents given as field -> text mappings.

    `weights` gives each field's multiplier (fields not named count 1.0). `k1` and `b` are
    BM25's usual parameters; the defaults suit short documents such as tool descriptions.
    """

    def __init__(
        self,
        documents: Sequence[Mapping[str, str]],
        weights: Mapping[str, float] | None = None,
        *,
        k1: float = 0.9,
        b: float = 0.4,
        tokenizer: Callable[[str], list[str]] = tokenize,
    ) -> None:
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError("BM25 needs k1 >= 0 and 0 <= b <= 1")
        self.k1 = k1
        self.b = b
        self.weights = dict(weights or {})
        self._tokenize = tokenizer
        self._vocab: dict[str, int] = {}
        counts: list[dict[int, float]] = []
        for document in documents:
            weighted: dict[int, float] = {}  # term -> weighted count
            for name, text in document.items():
                weight = self.weights.get(name, 1.0)
                if weight <= 0 or not text:
                    continue
                for term in self._tokenize(text):
                    index = self._vocab.setdefault(term, len(self._vocab))
                    weighted[index] = weighted.get(index, 0.0) + weight
            counts.append(weighted)
        self._matrix = self._build(counts)

    def __len__(self) -> int:
        return int(self._matrix.shape[1])

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def _build(self, counts: list[dict[int, float]]) -> sparse.csr_matrix:
        n_docs = len(counts)
        n_terms = max(len(self._vocab), 1)
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
        average = float(lengths.mean()) if n_docs and lengths.sum() > 0 else 1.0
        df = np.zeros(n_terms, dtype=np.float64)
        for weighted in counts:
            for term in weighted:
                df[term] += 1
        # BM25's idf, floored at a small positive value so a term in most documents still counts
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        self._idf = np.maximum(idf, 1e-3)
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        for doc, weighted in enumerate(counts):
            norm = self.k1 * (1 - self.b + self.b * lengths[doc] / average)
            for term, tf in weighted.items():
                rows.append(term)
                cols.append(doc)
                values.append(self._idf[term] * tf * (self.k1 + 1) / (tf + norm))
        return sparse.csr_matrix((values, (rows, cols)), shape=(n_terms, max(n_docs, 0)))

    def query_vector(self, query: str) -> sparse.csr_matrix | None:
        terms = Counter(self._vocab[t] for t in self._tokenize(query) if t in self._vocab)
        if not terms:
            return None
        ids = np.fromiter(terms.keys(), dtype=np.int64)
        data = np.fromiter(terms.values(), dtype=np.float64)
        return sparse.csr_matrix(
            (data, (np.zeros_like(ids), ids)), shape=(1, self._matrix.shape[0])
        )

    def scores(self, query: str) -> np.ndarray:
        """BM25F scores of every document for `query` (zeros when no term is known)."""
        vector = self.query_vector(query)
        if vector is None:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray((vector @ self._matrix).todense(), dtype=np.float32).ravel()

    def idf(self, term: str) -> float:
        """The idf of an already tokenized term (0.0 when unknown)."""
        index = self._vocab.get(term)
        return 0.0 if index is None else float(self._idf[index])

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The `k` best (document index, score) pairs with a positive score."""
        scores = self.scores(query)
        if k <= 0 or not len(scores):
            return []
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        ranked = best[np.argsort(-scores[best], kind="stable")]
        return [(int(i), float(scores[i])) for i in ranked if scores[i] > 0]
