"""Term selection for long queries: keep the rarest words, so BM25 stays fast.

An FTS5 OR-query costs time in proportion to the posting lists of its terms: a paragraph-long
query (a pasted task description) that names 30 words, half of them common in the corpus
("package", "provide", "description"), took 280-440 ms at 160k passages. Common terms add
little to BM25 (their IDF is near zero), so a query with more than `max_terms` words keeps the
`max_terms` rarest (ties: earlier in the query first), in their query order.

Rarity comes from the FTS5 index itself (an `fts5vocab` table: documents per stemmed term),
read once into memory for the terms in more than `common_fraction` of the passages (the only
ones ever dropped, so memory stays small: a few thousand terms) and read again when the number
of passages has changed by more than `refresh_change`. Query words are stemmed by the index's
own tokenizer (a temporary FTS5 table with the same `tokenize` settings), so the lookup matches
exactly what the index holds.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence

__all__ = ["LONG_QUERY_TERMS", "TermSelector"]

log = logging.getLogger(__name__)

LONG_QUERY_TERMS = 16
"""Queries with more words than this keep only their rarest 16 (measured in the module doc)."""


class TermSelector:
    """Picks the rarest words of long queries against one FTS5 index (one connection)."""

    def __init__(
        self,
        fts_table: str,
        tokenize: str,
        *,
        max_terms: int = LONG_QUERY_TERMS,
        common_fraction: float = 0.002,
        refresh_change: float = 0.1,
    ) -> None:
        if max_terms < 1:
            raise ValueError(f"max_terms must be >= 1, got {max_terms}")
        self.fts_table = fts_table
        self.tokenize = tokenize
        self.max_terms = max_terms
        self.common_fraction = common_fraction
        self.refresh_change = refresh_change
        self._common: dict[str, int] = {}
        self._passages = -1
        self._conn_id: int | None = None
        self._lock = threading.Lock()

    def select(self, conn: sqlite3.Connection, terms: Sequence[str], passages: int) -> list[str]:
        """`terms` itself when short enough, else its `max_terms` rarest, in query order.
        `passages`: how many rows the index holds now (to know when to re-read rarity)."""
        if len(terms) <= self.max_terms:
            return list(terms)
        with self._lock:
            self._prepare(conn, passages)
            stems = self._stems(conn, terms)
            counts = [self._common.get(stem, 0) for stem in stems]
        keep = sorted(range(len(terms)), key=lambda i: (counts[i], i))[: self.max_terms]
        return [terms[i] for i in sorted(keep)]

    def _prepare(self, conn: sqlite3.Connection, passages: int) -> None:
        if self._conn_id != id(conn):
            conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ws_query_tokens "
                f"USING fts5(t, tokenize = '{self.tokenize}')"
            )
            conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ws_query_vocab "
                "USING fts5vocab(temp, ws_query_tokens, 'instance')"
            )
            conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ws_index_vocab "
                f"USING fts5vocab(main, {self.fts_table}, 'row')"
            )
            self._conn_id = id(conn)
            self._passages = -1
        stale = self._passages < 0 or abs(passages - self._passages) > self.refresh_change * max(
            1, self._passages
        )
        if stale:
            started = time.perf_counter()
            floor = max(2, int(self.common_fraction * passages))
            self._common = dict(
                conn.execute("SELECT term, doc FROM temp.ws_index_vocab WHERE doc >= ?", (floor,))
            )
            self._passages = passages
            log.debug(
                "term selection: %d common terms (>= %d passages) read in %.2f s",
                len(self._common),
                floor,
                time.perf_counter() - started,
            )

    @staticmethod
    def _stems(conn: sqlite3.Connection, terms: Sequence[str]) -> list[str]:
        """Each term as the index's tokenizer stores it ('' when it yields no token)."""
        conn.execute("DELETE FROM temp.ws_query_tokens")
        stems = [""] * len(terms)
        for position, term in enumerate(terms):
            conn.execute(
                "INSERT INTO temp.ws_query_tokens (rowid, t) VALUES (?, ?)", (position + 1, term)
            )
        for term, row in conn.execute(
            "SELECT term, doc FROM temp.ws_query_vocab WHERE offset = 0"
        ).fetchall():
            stems[int(row) - 1] = str(term)
        conn.execute("DELETE FROM temp.ws_query_tokens")
        return stems
