"""Term selection: which query words BM25 should look up, so common words do not cost time.

FTS5 computes BM25 for every passage that matches any word of an OR-query, so a query costs
time in proportion to its words' posting lists. Measured at 160k passages (2 cores): ranking a
query with words in 60-100k passages ("debian", "package", "bookworm") took 130-300 ms, while
counting matches is ~100 times cheaper (~4 ms for a word in 100k passages). Words that common
carry almost no weight in BM25 (IDF = ln((N - n + 0.5) / (n + 0.5)): 1.1 at 25%, 0 at 50%,
against ~10 for a rare word), so:

- a word found in more than `common_share` (25%) of the passages searched is dropped, unless
  every word is that common (then the rarest one is kept);
- a query with more than `max_terms` (16) words keeps the 16 rarest (paragraph-long queries:
  ~440 ms -> ~45 ms; the dev tasks' gold documents found in the top 50 went from 0.443 to 0.431,
  against 0.327 at 12 words).

Both apply only when the passages searched number at least `min_passages` (20,000): below that
every query is fast anyway, and in a small collection "common" says little (in five documents,
a word in two of them is in 40%).

Kept words stay in query order. A word's document frequency is counted by the index itself
(`MATCH '"word"'`, so the index's own tokenizer stems it) within the passage-id ranges searched,
so a word common in one corpus is still used when searching another; counts are cached per
word, ranges and corpus version (an LRU of `cache_size` entries).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence

__all__ = ["COMMON_SHARE", "LONG_QUERY_TERMS", "MIN_PASSAGES", "TermSelector"]

LONG_QUERY_TERMS = 16
COMMON_SHARE = 0.25
MIN_PASSAGES = 20_000

Range = tuple[int, int] | None


class TermSelector:
    """Picks the words of a query worth looking up in one FTS5 index."""

    def __init__(
        self,
        fts_table: str,
        *,
        max_terms: int = LONG_QUERY_TERMS,
        common_share: float = COMMON_SHARE,
        min_passages: int = MIN_PASSAGES,
        cache_size: int = 8192,
    ) -> None:
        if max_terms < 1:
            raise ValueError(f"max_terms must be >= 1, got {max_terms}")
        if not 0.0 < common_share <= 1.0:
            raise ValueError(f"common_share must be in (0, 1], got {common_share}")
        self.fts_table = fts_table
        self.max_terms = max_terms
        self.common_share = common_share
        self.min_passages = min_passages
        self.cache_size = cache_size
        self._counts: OrderedDict[tuple[str, tuple[Range, ...], str], int] = OrderedDict()
        self._lock = threading.Lock()

    def select(
        self,
        conn: sqlite3.Connection,
        terms: Sequence[str],
        ranges: Sequence[Range],
        passages: int,
        version: str,
    ) -> list[str]:
        """The words of `terms` to look up, in query order. `ranges`: the passage-id ranges
        searched (None: all); `passages`: how many passages they hold; `version`: changes
        whenever the index does (it keys the cached counts)."""
        if len(terms) <= 1 or passages < self.min_passages:
            return list(terms)
        counts = [self.document_frequency(conn, term, ranges, version) for term in terms]
        ceiling = self.common_share * max(passages, 1)
        keep = [i for i, count in enumerate(counts) if count <= ceiling]
        if not keep:
            keep = [min(range(len(terms)), key=lambda i: (counts[i], i))]
        if len(keep) > self.max_terms:
            keep = sorted(keep, key=lambda i: (counts[i], i))[: self.max_terms]
        return [terms[i] for i in sorted(keep)]

    def document_frequency(
        self, conn: sqlite3.Connection, term: str, ranges: Sequence[Range], version: str
    ) -> int:
        """Passages within `ranges` that hold `term` (as the index tokenizes it)."""
        key = (term.casefold(), tuple(ranges), version)
        with self._lock:
            if key in self._counts:
                self._counts.move_to_end(key)
                return self._counts[key]
        phrase = '"' + term.replace('"', "") + '"'
        total = 0
        try:
            for id_range in ranges:
                if id_range is None:
                    row = conn.execute(
                        f"SELECT count(*) FROM {self.fts_table} WHERE {self.fts_table} MATCH ?",
                        (phrase,),
                    ).fetchone()
                else:
                    row = conn.execute(
                        f"SELECT count(*) FROM {self.fts_table} WHERE {self.fts_table} MATCH ? "
                        "AND rowid BETWEEN ? AND ?",
                        (phrase, *id_range),
                    ).fetchone()
                total += int(row[0])
        except sqlite3.OperationalError:  # a word FTS5 cannot parse: it matches nothing
            total = 0
        with self._lock:
            self._counts[key] = total
            while len(self._counts) > self.cache_size:
                self._counts.popitem(last=False)
        return total
