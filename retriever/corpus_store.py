"""Local corpus search: documents and passages in one SQLite file, ranked with FTS5 BM25.

Layout (all tables prefixed so the file can sit beside, or inside, other wideseek databases):

- `corpus_meta(key, value)`: the schema version.
- `corpora(id, name, created, updated, format)`: one row per named corpus; `format` is the
  document format its documents were indexed with (`DOCUMENT_FORMAT`; 1 = text only, before
  documents kept their structure). Documents are never added to a corpus of an older format:
  `OutdatedCorpusError` says to re-index it.
- `corpus_documents(id, corpus, doc_id, url, title, source, text)`, unique on (corpus, doc_id).
- `corpus_passages(id, doc, ordinal, start_char, end_char, context)`: chunks of a document's
  text by character offsets; the passage text is never stored twice. Passages are cut along the
  document's blocks (`chunk_document`); `context` is what a passage needs to be read alone (its
  section path; in a table, the caption and column names), searched with it and shown beside it.
  Passage ids of corpus `c` lie in `[c.id << 40, (c.id + 1) << 40)`, so searching some corpora
  is an FTS5 rowid-range query (which FTS5 answers without touching other corpora), and a
  document's passages have consecutive ids.
- `corpus_structures(doc, data)`: each document's structure (`retriever.structure`), as
  zlib-compressed JSON; for a structure read from the document's own text (plain text, Markdown,
  JSONL) just the mode to read it in again, `text` or `markdown` (`parse_text` is fast and
  deterministic, and storing it took a third of the file for `Label: value` corpora).
- `corpus_fts`: an FTS5 index over (title, context + passage text), an *external content* table
  reading from the view `corpus_passage_content`; ranked by BM25 with the title weighted higher.

Writes go in batches, one transaction each, so a crash loses at most the batch in flight.
Re-adding a document replaces it and its passages (an unchanged document is left as is).

One connection is shared by all threads behind a lock, so the store may be used from
`asyncio.to_thread`. The file is opened lazily, on first use, and checked then with
`PRAGMA quick_check`; a damaged or foreign file raises `CorpusError` saying how to rebuild it.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import json
import logging
import re
import sqlite3
import threading
import time
import unicodedata
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from retriever.chunking import chunk_document
from retriever.parse_text import parse_text
from retriever.structure import DocumentStructure, StructureError
from retriever.term_selection import TermSelector
from retriever.types import Document, Hit, Passage

__all__ = [
    "STOPWORDS",
    "AmbiguousDocumentError",
    "CorpusError",
    "CorpusInfo",
    "CorpusStore",
    "DocumentNotFoundError",
    "InvalidCorpusNameError",
    "OutdatedCorpusError",
    "UnknownCorpusError",
    "build_match_query",
    "query_terms",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
DOCUMENT_FORMAT = 2
"""Format of the documents a corpus holds: 2 = with their structure, passages along blocks."""
TITLE_WEIGHT = 4.0
"""BM25 weight of the title column relative to the passage text (1.0)."""
COVERAGE_WEIGHT = 0.5
TITLE_MATCH_WEIGHT = 0.5
"""A hit's score is bm25 * (1 + COVERAGE_WEIGHT * coverage) * (1 + TITLE_MATCH_WEIGHT * title):
coverage is the share of the query's words found in the passage or title, and title is the overlap
(Jaccard) of the query's words and the title's, so "Ice" prefers the article "Ice" to "Ice
sheet"."""
MAX_QUERY_TERMS = 32
_MAX_BONUS = (1.0 + COVERAGE_WEIGHT) * (1.0 + TITLE_MATCH_WEIGHT)
_ID_BITS = 40
"""Passage ids of the corpus with id `c` are `(c << _ID_BITS) + n`."""
PASSAGE_SIZE = 800
PASSAGE_OVERLAP = 150
REBUILD_HINT = "delete it and rebuild the index with `wideseek index`"

_TOKENIZE = "porter unicode61 remove_diacritics 2"
_CORPUS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_CONTENT_VIEW = """CREATE VIEW IF NOT EXISTS corpus_passage_content AS
    SELECT p.id AS id, p.doc AS doc, d.title AS title,
           CASE WHEN p.context = '' THEN substr(d.text, p.start_char + 1, p.end_char - p.start_char)
                ELSE p.context || char(10)
                     || substr(d.text, p.start_char + 1, p.end_char - p.start_char) END AS body
    FROM corpus_passages AS p JOIN corpus_documents AS d ON d.id = p.doc;"""
"""What FTS5 indexes for a passage: the title, and the context (if any) above the passage text.
For a passage without context the body is exactly the old one, so an index built before
contexts existed stays consistent."""

_MIGRATE_FROM_1 = f"""
ALTER TABLE corpora ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE corpus_passages ADD COLUMN context TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS corpus_structures (
    doc INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
DROP VIEW IF EXISTS corpus_passage_content;
{_CONTENT_VIEW}
"""
"""Schema 1 -> 2 in place: existing corpora keep their documents and index, marked format 1."""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS corpus_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS corpora (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    format INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS corpus_documents (
    id INTEGER PRIMARY KEY,
    corpus TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,  -- last, so reading the other columns never touches overflow pages
    UNIQUE (corpus, doc_id)
);
CREATE INDEX IF NOT EXISTS corpus_documents_doc_id ON corpus_documents (doc_id);
CREATE TABLE IF NOT EXISTS corpus_passages (
    id INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    context TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS corpus_passages_doc ON corpus_passages (doc, ordinal);
CREATE TABLE IF NOT EXISTS corpus_structures (
    doc INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
{_CONTENT_VIEW}
CREATE VIRTUAL TABLE IF NOT EXISTS corpus_fts USING fts5 (
    title, body,
    content = 'corpus_passage_content', content_rowid = 'id',
    tokenize = '{_TOKENIZE}'
);
INSERT INTO corpus_fts (corpus_fts, rank) VALUES ('rank', 'bm25({TITLE_WEIGHT}, 1.0)');
"""

STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn d did didn do does doesn
    doing don down during each few for from further had hadn has hasn have haven having he her
    here hers herself him himself his how i if in into is isn it its itself just ll m me more
    most much must mustn my myself no nor not now o of off on once only or other ought our ours
    ourselves out over own re s same shan she should shouldn so some such t than that the their
    theirs them themselves then there these they this those through to too under until up ve
    very was wasn we were weren what when where which while who whom whose why will with won
    would wouldn y you your yours yourself yourselves
    tell give find list show describe explain please
    """.split()  # noqa: SIM905
)
"""English function words (and a few request verbs) dropped from search queries."""

_WORD = re.compile(r"[^\W_]+")


# --- errors and records ---------------------------------------------------------------------


class CorpusError(RuntimeError):
    """The corpus store cannot do what was asked: bad file, unknown corpus or document."""


class UnknownCorpusError(CorpusError):
    """A corpus name that the store does not hold."""

    def __init__(self, names: Sequence[str], known: Sequence[str]) -> None:
        self.names = list(names)
        self.known = sorted(known)
        listed = ", ".join(repr(name) for name in self.names)
        have = ", ".join(self.known) if self.known else "none yet"
        plural = "corpora" if len(self.names) > 1 else "corpus"
        super().__init__(
            f"unknown {plural} {listed}; known corpora: {have} "
            "(add one with `wideseek index PATH --corpus NAME`)"
        )


class InvalidCorpusNameError(CorpusError, ValueError):
    """A corpus name that cannot be used (it must be a short slug without ':')."""


class OutdatedCorpusError(CorpusError):
    """A corpus indexed in an older document format: it must be re-indexed before more
    documents are added to it."""

    def __init__(self, name: str, found: int) -> None:
        self.name = name
        self.format = found
        super().__init__(
            f"corpus {name!r} was indexed by an older wideseek (document format {found}: text "
            f"only, no sections or tables); re-index it before adding documents: run the same "
            f"`wideseek index ... --corpus {name}` with --rebuild (it replaces the corpus), or "
            f"`wideseek corpus remove {name}` first"
        )


class DocumentNotFoundError(CorpusError):
    """No document with that id."""


class AmbiguousDocumentError(CorpusError):
    """A bare document id found in more than one corpus."""


@dataclass(frozen=True)
class CorpusInfo:
    name: str
    documents: int
    passages: int
    created: datetime
    updated: datetime
    format: int = DOCUMENT_FORMAT

    @property
    def outdated(self) -> bool:
        """Indexed in an older document format (re-index it to get document structure)."""
        return self.format < DOCUMENT_FORMAT


# --- queries --------------------------------------------------------------------------------


def query_terms(text: str) -> list[str]:
    """The searchable words of free text, de-duplicated (case-insensitively), stopwords dropped.

    Words are split the way the FTS5 `unicode61` tokenizer splits them (letters and digits;
    everything else separates), so punctuation and FTS5 syntax (quotes, `*`, `^`, `:`,
    parentheses, emoji) never reach the query. Case is left to the tokenizer, which folds it
    (and diacritics) the same way for queries and documents. If every word is a stopword
    ("The Who") they are all kept.
    """
    unique: dict[str, str] = {}
    for word in _WORD.findall(unicodedata.normalize("NFKC", text)):
        unique.setdefault(word.casefold(), word)
    content = [word for key, word in unique.items() if key not in STOPWORDS]
    return (content or list(unique.values()))[:MAX_QUERY_TERMS]


def build_match_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: the OR of the quoted terms ("" when there are none)."""
    return " OR ".join('"' + term.replace('"', "") + '"' for term in terms if term)


@functools.lru_cache(maxsize=1 << 16)
def _light_stem(word: str) -> str:
    """A crude English stem for counting which query terms a passage covers (the FTS index does
    the real Porter stemming; this only decides the coverage bonus)."""
    word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    return word


def _stems(text: str) -> set[str]:
    return set(map(_light_stem, set(_WORD.findall(text.casefold()))))


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _fold(text: str) -> str:
    """Case-folded, diacritics removed (what `_light_stem` compares)."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    return _COMBINING.sub("", unicodedata.normalize("NFKD", folded))


class _CoverageMatcher:
    """Which query terms a passage covers: a word covers a term when their light stems are
    equal. One regex finds the only words that can (a term's stem plus a suffix that
    `_light_stem` strips), and the exact stem check decides, so a passage is scanned once in C
    instead of stemming all its words."""

    def __init__(self, terms: Sequence[str]) -> None:
        self.stems = [_light_stem(term.casefold()) for term in terms]
        forms: list[str] = []
        for stem in sorted(set(self.stems), key=len, reverse=True):
            if not stem:
                continue
            forms.append(re.escape(stem) + "(?:s|ing|ings|ed|eds)?")
            if stem.endswith("y"):
                forms.append(re.escape(stem[:-1]) + "ies")
        self.pattern = (
            re.compile(r"(?<![^\W_])(?:" + "|".join(forms) + r")(?![^\W_])") if forms else None
        )

    def __call__(self, title: str, text: str) -> float:
        if not self.stems or self.pattern is None:
            return 0.0
        words = set(self.pattern.findall(_fold(f"{title} {text}")))
        present = {_light_stem(word) for word in words}
        return sum(stem in present for stem in self.stems) / len(self.stems)


def _coverage(terms: Sequence[str], title: str, text: str) -> float:
    """Share of the query terms found in the title or passage text."""
    return _CoverageMatcher(terms)(title, text)


def _title_match(terms: Sequence[str], title: str) -> float:
    """Jaccard overlap of the query terms and the title's words (stopwords dropped)."""
    wanted = {_light_stem(term.casefold()) for term in terms}
    have = {
        _light_stem(word.casefold())
        for word in _WORD.findall(title)
        if word.casefold() not in STOPWORDS
    } or _stems(title)
    if not wanted or not have:
        return 0.0
    return len(wanted & have) / len(wanted | have)


def _clean_str(value: str) -> str:
    """Text SQLite can store and FTS5 can index: no NULs, no lone surrogates."""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _normalise_id(value: str) -> str:
    return " ".join(value.replace("_", " ").casefold().split())


# --- the store ------------------------------------------------------------------------------


class CorpusStore:
    """Named corpora of documents in one SQLite file, searchable with BM25.

    ```python
    with CorpusStore(Path("corpus.db")) as store:
        store.add_documents("notes", load_documents(Path("notes/")))
        hits = store.search("tidal locking of moons", k=5)
    ```
    """

    def __init__(
        self,
        path: Path | str,
        *,
        passage_size: int = PASSAGE_SIZE,
        passage_overlap: int = PASSAGE_OVERLAP,
    ) -> None:
        self.path = Path(path).expanduser()
        self.passage_size = passage_size
        self.passage_overlap = passage_overlap
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._lock = threading.RLock()
        self._terms = TermSelector("corpus_fts")
        self._sizes: dict[tuple[tuple[tuple[int, int] | None, ...], str], int] = {}

    def __repr__(self) -> str:
        return f"CorpusStore({str(self.path)!r})"

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> CorpusStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise CorpusError(f"corpus store {self.path} is closed")
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise CorpusError(f"corpus database {self.path} is a directory, not a file")
        existed = self.path.exists() and self.path.stat().st_size > 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            if existed:
                problem = conn.execute("PRAGMA quick_check").fetchone()[0]
                if problem != "ok":
                    raise CorpusError(
                        f"corpus database {self.path} is damaged ({problem}); {REBUILD_HINT}"
                    )
            else:  # must precede the first table; lets `optimize()` hand free pages back
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
        except sqlite3.DatabaseError as error:
            conn.close()
            raise self._translate(error) from error
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        row = None
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'corpus_meta'"
        ).fetchone()
        if has_meta:
            row = conn.execute(
                "SELECT value FROM corpus_meta WHERE key = 'schema_version'"
            ).fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise CorpusError(
                f"corpus database {self.path} has schema version {row[0]}, newer than this "
                f"wideseek understands ({SCHEMA_VERSION}); upgrade wideseek or {REBUILD_HINT}"
            )
        if row is not None and int(row[0]) == SCHEMA_VERSION:
            return
        script = _SCHEMA
        if row is not None and int(row[0]) == 1:
            script = _MIGRATE_FROM_1
            log.info("corpus database %s: schema 1 -> %d", self.path, SCHEMA_VERSION)
        try:
            conn.execute("BEGIN IMMEDIATE")
            # another process may have migrated the file since we looked
            now = (
                conn.execute(
                    "SELECT value FROM corpus_meta WHERE key = 'schema_version'"
                ).fetchone()
                if has_meta
                else None
            )
            if now is not None and int(now[0]) == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            for statement in _split_sql(script):
                conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO corpus_meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if "fts5" in str(error).lower():
                raise CorpusError(
                    f"this Python's SQLite ({sqlite3.sqlite_version}) lacks FTS5, which the "
                    "corpus store needs"
                ) from error
            raise

    def _translate(self, error: sqlite3.DatabaseError) -> CorpusError:
        message = str(error)
        damaged = type(error) is sqlite3.DatabaseError or any(
            word in message.lower() for word in ("malformed", "not a database", "corrupt")
        )
        if damaged:
            return CorpusError(
                f"corpus database {self.path} is damaged or not a corpus database "
                f"({message}); {REBUILD_HINT}"
            )
        return CorpusError(f"corpus database {self.path}: {message}")

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with SQLite errors turned into `CorpusError`."""
        with self._lock:
            try:
                yield self._connection()
            except sqlite3.DatabaseError as error:
                raise self._translate(error) from error

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._use() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- corpora ----------------------------------------------------------------------------

    def corpora(self) -> list[CorpusInfo]:
        """Every corpus with its document and passage counts, by name."""
        with self._use() as conn:
            rows = conn.execute(
                """
                SELECT c.name, c.created, c.updated, c.format,
                       (SELECT count(*) FROM corpus_documents AS d WHERE d.corpus = c.name),
                       (SELECT count(*) FROM corpus_passages AS p
                          WHERE p.id BETWEEN c.id << ? AND ((c.id + 1) << ?) - 1)
                FROM corpora AS c ORDER BY c.name
                """,
                (_ID_BITS, _ID_BITS),
            ).fetchall()
        return [
            CorpusInfo(name, documents, passages, _utc(created), _utc(updated), fmt)
            for name, created, updated, fmt, documents, passages in rows
        ]

    def version(self, corpora: Sequence[str] | None = None) -> str:
        """A fingerprint that changes whenever the named corpora (default: all) change."""
        with self._use() as conn:
            rows = conn.execute("SELECT name, updated FROM corpora ORDER BY name").fetchall()
        wanted = set(corpora) if corpora is not None else None
        return ";".join(f"{n}@{u:.6f}" for n, u in rows if wanted is None or n in wanted)

    def corpus_names(self) -> list[str]:
        with self._use() as conn:
            return [row[0] for row in conn.execute("SELECT name FROM corpora ORDER BY name")]

    def has_corpus(self, name: str) -> bool:
        with self._use() as conn:
            return (
                conn.execute("SELECT 1 FROM corpora WHERE name = ?", (name,)).fetchone() is not None
            )

    def remove_corpus(self, name: str) -> bool:
        """Delete a corpus and everything in it; False if there was no such corpus."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM corpora WHERE name = ?", (name,)).fetchone() is None:
                return False
            conn.execute(
                """
                INSERT INTO corpus_fts (corpus_fts, rowid, title, body)
                SELECT 'delete', v.id, v.title, v.body FROM corpus_passage_content AS v
                WHERE v.doc IN (SELECT id FROM corpus_documents WHERE corpus = ?)
                """,
                (name,),
            )
            conn.execute(
                "DELETE FROM corpus_passages WHERE doc IN "
                "(SELECT id FROM corpus_documents WHERE corpus = ?)",
                (name,),
            )
            conn.execute(
                "DELETE FROM corpus_structures WHERE doc IN "
                "(SELECT id FROM corpus_documents WHERE corpus = ?)",
                (name,),
            )
            conn.execute("DELETE FROM corpus_documents WHERE corpus = ?", (name,))
            conn.execute("DELETE FROM corpora WHERE name = ?", (name,))
            return True

    # -- documents --------------------------------------------------------------------------

    def add_documents(
        self,
        corpus: str,
        docs: Iterable[Document],
        *,
        progress: Callable[[int], None] | None = None,
        batch_size: int = 500,
    ) -> int:
        """Add (or replace, by `doc_id`) documents in `corpus`, creating it if needed.

        Documents are written `batch_size` at a time, one transaction per batch; `progress` is
        called after each batch with the number of documents done so far. Returns how many
        documents were processed (an unchanged document counts but is not rewritten).
        """
        if not _CORPUS_NAME.match(corpus):
            raise InvalidCorpusNameError(
                f"bad corpus name {corpus!r}: use 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        done = 0
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                done += self._write_batch(corpus, batch)
                batch = []
                if progress is not None:
                    progress(done)
        if batch or done == 0:
            done += self._write_batch(corpus, batch)
            if progress is not None:
                progress(done)
        return done

    def _write_batch(self, corpus: str, docs: Sequence[Document]) -> int:
        prepared: list[tuple[Document, list[Passage], bytes]] = []
        for doc in docs:
            if not isinstance(doc.doc_id, str) or not doc.doc_id.strip():
                raise ValueError(f"document with an empty doc_id in corpus {corpus!r}")
            text = _clean_str(doc.text)
            structure = doc.structure
            if structure is None or text != doc.text:
                # plain text (or text that had to be cleaned): its structure from the text
                structure = parse_text(text, title=doc.title)
            clean = Document(
                doc_id=_clean_str(doc.doc_id),
                text=text,
                url=_clean_str(doc.url),
                title=_clean_str(doc.title),
                source=_clean_str(doc.source),
                structure=structure,
            )
            passages = chunk_document(
                clean.doc_id, text, structure, self.passage_size, self.passage_overlap
            )
            if not passages:  # keep an empty passage so the title stays searchable
                passages = [Passage(clean.doc_id, 0, 0, 0, "")]
            data = _structure_data(structure)
            prepared.append((clean, passages, data))

        now = time.time()
        with self._transaction() as conn:
            found = conn.execute("SELECT format FROM corpora WHERE name = ?", (corpus,)).fetchone()
            if found is not None and int(found[0]) < DOCUMENT_FORMAT:
                raise OutdatedCorpusError(corpus, int(found[0]))
            conn.execute(
                "INSERT INTO corpora (name, created, updated, format) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET updated = excluded.updated",
                (corpus, now, now, DOCUMENT_FORMAT),
            )
            low, high = self._id_range(conn, corpus)
            next_id = conn.execute(
                "SELECT coalesce(max(id) + 1, ?) FROM corpus_passages WHERE id BETWEEN ? AND ?",
                (low, low, high),
            ).fetchone()[0]
            # Ids are never reused (not even after the newest document or the corpus is removed),
            # so a vector index keyed by passage id cannot mistake a new passage for an old one.
            mark_key = f"next_passage_id:{low >> _ID_BITS}"
            mark = conn.execute(
                "SELECT value FROM corpus_meta WHERE key = ?", (mark_key,)
            ).fetchone()
            if mark is not None:
                next_id = max(next_id, int(mark[0]))
            for doc, passages, data in prepared:
                old = conn.execute(
                    "SELECT id, url, title, source, text FROM corpus_documents "
                    "WHERE corpus = ? AND doc_id = ?",
                    (corpus, doc.doc_id),
                ).fetchone()
                if old is not None:
                    if tuple(old[1:]) == (doc.url, doc.title, doc.source, doc.text):
                        continue
                    self._delete_rows(conn, old[0])
                row_id = conn.execute(
                    "INSERT INTO corpus_documents (corpus, doc_id, url, title, source, text) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (corpus, doc.doc_id, doc.url, doc.title, doc.source, doc.text),
                ).lastrowid
                if next_id + len(passages) > high:
                    raise CorpusError(f"corpus {corpus!r} is full (2**{_ID_BITS} passages)")
                ids = range(next_id, next_id + len(passages))
                next_id += len(passages)
                conn.executemany(
                    "INSERT INTO corpus_passages (id, doc, ordinal, start_char, end_char, "
                    "context) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (i, row_id, p.ordinal, p.start, p.end, _clean_str(p.context))
                        for i, p in zip(ids, passages, strict=True)
                    ],
                )
                conn.execute(
                    "INSERT INTO corpus_structures (doc, data) VALUES (?, ?)", (row_id, data)
                )
                conn.executemany(
                    "INSERT INTO corpus_fts (rowid, title, body) VALUES (?, ?, ?)",
                    [
                        (i, doc.title, _body(_clean_str(p.context), p.text))
                        for i, p in zip(ids, passages, strict=True)
                    ],
                )
            conn.execute(
                "INSERT OR REPLACE INTO corpus_meta (key, value) VALUES (?, ?)",
                (mark_key, str(next_id)),
            )
        return len(prepared)

    @staticmethod
    def _id_range(conn: sqlite3.Connection, corpus: str) -> tuple[int, int]:
        """The passage-id range of a corpus (which must exist)."""
        corpus_id = conn.execute("SELECT id FROM corpora WHERE name = ?", (corpus,)).fetchone()[0]
        return corpus_id << _ID_BITS, ((corpus_id + 1) << _ID_BITS) - 1

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, row_id: int) -> None:
        """Remove a document's index entries, passages and row (inside a transaction)."""
        conn.execute(
            "INSERT INTO corpus_fts (corpus_fts, rowid, title, body) "
            "SELECT 'delete', id, title, body FROM corpus_passage_content WHERE doc = ?",
            (row_id,),
        )
        conn.execute("DELETE FROM corpus_passages WHERE doc = ?", (row_id,))
        conn.execute("DELETE FROM corpus_structures WHERE doc = ?", (row_id,))
        conn.execute("DELETE FROM corpus_documents WHERE id = ?", (row_id,))

    def remove_document(self, corpus: str, doc_id: str) -> bool:
        """Delete one document and its passages; False if it was not there."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT id FROM corpus_documents WHERE corpus = ? AND doc_id = ?", (corpus, doc_id)
            ).fetchone()
            if row is None:
                return False
            self._delete_rows(conn, row[0])
            conn.execute("UPDATE corpora SET updated = ? WHERE name = ?", (time.time(), corpus))
            return True

    def get_document(self, corpus: str, doc_id: str) -> Document | None:
        """The stored document, or None if `corpus` has no document `doc_id`."""
        with self._use() as conn:
            row = conn.execute(
                "SELECT doc_id, text, url, title, source FROM corpus_documents "
                "WHERE corpus = ? AND doc_id = ?",
                (corpus, doc_id),
            ).fetchone()
        return Document(*row) if row is not None else None

    def corpus_format(self, name: str) -> int | None:
        """The document format of corpus `name` (None: no such corpus)."""
        with self._use() as conn:
            row = conn.execute("SELECT format FROM corpora WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row is not None else None

    def get_structure(self, corpus: str, doc_id: str) -> tuple[Document, DocumentStructure]:
        """A document with its structure (sections, tables, lists... with spans into its text).

        Documents of a corpus in the old format have no stored structure: theirs is parsed from
        the text on the fly. Raises `DocumentNotFoundError`."""
        with self._use() as conn:
            row = conn.execute(
                "SELECT d.doc_id, d.text, d.url, d.title, d.source, s.data "
                "FROM corpus_documents AS d LEFT JOIN corpus_structures AS s ON s.doc = d.id "
                "WHERE d.corpus = ? AND d.doc_id = ?",
                (corpus, doc_id),
            ).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"no document {doc_id!r} in corpus {corpus!r}")
        document = Document(*row[:5])
        structure: DocumentStructure | None = None
        mode = bytes(row[5]) if row[5] is not None and len(row[5]) <= 8 else None
        if mode in _READ_FROM_TEXT.values():
            return document, parse_text(
                document.text, markdown=mode == b"markdown", title=document.title
            )
        if row[5] is not None:
            try:
                structure = DocumentStructure.from_json(json.loads(zlib.decompress(row[5])))
            except (StructureError, zlib.error, ValueError) as error:
                log.warning("structure of %s:%s unreadable (%s); parsed again", corpus, doc_id,
                            error)  # fmt: skip
        if structure is None:
            structure = parse_text(document.text, title=document.title)
        return document, structure

    def resolve(self, source_id: str) -> tuple[str, str]:
        """Map `"<corpus>:<doc_id>"`, or a bare doc_id found in one corpus only, to
        `(corpus, doc_id)`.

        Document ids may contain colons ("2001: A Space Odyssey"), so a prefix counts as a corpus
        only if a corpus has that name. Failing an exact match, ids are compared ignoring case,
        underscores-for-spaces and repeated whitespace, and a document's URL is accepted too.
        Raises `DocumentNotFoundError` or `AmbiguousDocumentError`.
        """
        wanted = source_id.strip()
        with self._use() as conn:
            known = {row[0] for row in conn.execute("SELECT name FROM corpora")}
            prefix, sep, rest = wanted.partition(":")
            scoped = bool(sep) and prefix in known
            attempts: list[tuple[str | None, str]] = []
            if scoped:
                attempts.append((prefix, rest.strip()))
            attempts.append((None, wanted))
            for corpus, doc_id in attempts:
                sql = "SELECT corpus, doc_id FROM corpus_documents WHERE doc_id = ?"
                if corpus is not None:
                    sql += " AND corpus = ?"
                params = (doc_id,) if corpus is None else (doc_id, corpus)
                found = conn.execute(sql, params).fetchall()
                if found:
                    return self._one(source_id, found)
            # Lenient pass: case, underscores and URLs.
            corpus = prefix if scoped else None
            key = _normalise_id(rest if scoped else wanted)
            found = []
            for corpus_name, doc_id, url in conn.execute(
                "SELECT corpus, doc_id, url FROM corpus_documents"
                + (" WHERE corpus = ?" if corpus is not None else ""),
                (corpus,) if corpus is not None else (),
            ):
                if _normalise_id(doc_id) == key or (url and url == wanted):
                    found.append((corpus_name, doc_id))
        if found:
            return self._one(source_id, found)
        raise DocumentNotFoundError(
            f"no document {source_id!r}"
            + (f" in corpus {prefix!r}" if scoped else "")
            + "; use a source id from a search result, like '<corpus>:<doc_id>'"
        )

    @staticmethod
    def _one(source_id: str, found: Sequence[tuple[str, str]]) -> tuple[str, str]:
        unique = sorted(set(found))
        if len(unique) > 1:
            options = ", ".join(f"{corpus}:{doc_id}" for corpus, doc_id in unique[:5])
            raise AmbiguousDocumentError(
                f"document id {source_id!r} matches {len(unique)} documents ({options}); "
                "prefix it with the corpus name"
            )
        return unique[0]

    # -- search -----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        corpora: Sequence[str] | None = None,
        *,
        max_per_document: int | None = 1,
        phrase: bool = False,
    ) -> list[Hit]:
        """The `k` best passages for free-text `query`, best first.

        The query's words (punctuation and FTS syntax stripped, stopwords dropped) are OR-ed and
        ranked by BM25 over title and passage text, with a bonus for passages containing more of
        the words. At most `max_per_document` passages per document (None: no limit). `corpora`
        limits the search (None: all); an unknown name raises `UnknownCorpusError`. Odd input
        gives few or no hits, never an error.

        `phrase=True` matches only passages holding all of the query's words as one phrase, in
        order ("bioinformatics.org" -> the words bioinformatics org adjacent; stopwords kept,
        as the index keeps them), ranked by BM25: an exact-text search that pages through every
        document stating it.
        """
        if phrase:
            words = _WORD.findall(unicodedata.normalize("NFKC", query))[:MAX_QUERY_TERMS]
            terms = list(dict.fromkeys(words))
        else:
            terms = query_terms(query)
        if k <= 0 or not terms:
            return []
        with self._use() as conn:
            ranges = self._ranges(conn, corpora)
            if not ranges:
                return []
            if phrase:
                match = '"' + " ".join(w.replace('"', "") for w in words) + '"'
                rows = self._candidates(conn, match, ranges, k, max_per_document)
                if not rows:
                    return []
                hits = self._hits(conn, rows, terms, k)
                hits.sort(key=lambda hit: hit.score, reverse=True)
                return hits[:k]
            if len(terms) > 1:  # very common words cost time and add nothing: drop them
                stamp = self._stamp(conn)
                terms = self._terms.select(
                    conn, terms, ranges, self._scope_size(conn, ranges, stamp), stamp
                )
            rows = self._candidates(conn, build_match_query(terms), ranges, k, max_per_document)
            if not rows:
                return []
            hits = self._hits(conn, rows, terms, k)
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:k]

    def phrase_share(
        self, phrase: str, corpora: Sequence[str] | None = None, *, cap: int = 100_000
    ) -> tuple[int, int]:
        """(documents stating `phrase` as a phrase, documents searched): how common a text is
        (counting stops at `cap`)."""
        words = _WORD.findall(unicodedata.normalize("NFKC", phrase))[:MAX_QUERY_TERMS]
        with self._use() as conn:
            ranges = self._ranges(conn, corpora)
            total = 0
            for id_range in ranges:
                if id_range is None:
                    total += conn.execute("SELECT count(*) FROM corpus_documents").fetchone()[0]
                else:
                    total += conn.execute(
                        "SELECT count(DISTINCT doc) FROM corpus_passages WHERE id BETWEEN ? AND ?",
                        id_range,
                    ).fetchone()[0]
            if not words:
                return 0, total
            match = '"' + " ".join(w.replace('"', "") for w in words) + '"'
            found = 0
            try:
                for id_range in ranges:
                    where = "corpus_fts MATCH ?"
                    params: tuple[Any, ...] = (match,)
                    if id_range is not None:
                        where += " AND rowid BETWEEN ? AND ?"
                        params += id_range
                    found += conn.execute(
                        f"SELECT count(DISTINCT p.doc) FROM (SELECT rowid AS pid FROM corpus_fts "
                        f"WHERE {where} LIMIT ?) AS m JOIN corpus_passages AS p ON p.id = m.pid",
                        (*params, cap),
                    ).fetchone()[0]
            except sqlite3.OperationalError:
                return 0, total
            return found, total

    @staticmethod
    def _stamp(conn: sqlite3.Connection) -> str:
        """Changes whenever any corpus changes (its `updated` time)."""
        rows = conn.execute("SELECT name, updated FROM corpora ORDER BY name").fetchall()
        return ";".join(f"{name}@{updated!r}" for name, updated in rows)

    def _scope_size(
        self, conn: sqlite3.Connection, ranges: Sequence[tuple[int, int] | None], stamp: str
    ) -> int:
        """Passages within `ranges` (cached until a corpus changes)."""
        key = (tuple(ranges), stamp)
        cached = self._sizes.get(key)
        if cached is not None:
            return cached
        total = 0
        for id_range in ranges:
            if id_range is None:
                row = conn.execute("SELECT count(*) FROM corpus_passages").fetchone()
            else:
                row = conn.execute(
                    "SELECT count(*) FROM corpus_passages WHERE id BETWEEN ? AND ?", id_range
                ).fetchone()
            total += int(row[0])
        if len(self._sizes) > 64:
            self._sizes.clear()
        self._sizes[key] = total
        return total

    def _ranges(
        self, conn: sqlite3.Connection, corpora: Sequence[str] | None
    ) -> list[tuple[int, int] | None]:
        """Passage-id ranges to search: `[None]` for every corpus, else one per corpus named.

        Raises `UnknownCorpusError` for a name the store does not hold."""
        if corpora is None:
            return [None]
        if isinstance(corpora, str):
            corpora = [corpora]
        known = dict(conn.execute("SELECT name, id FROM corpora").fetchall())
        unknown = [name for name in corpora if name not in known]
        if unknown:
            raise UnknownCorpusError(unknown, sorted(known))
        wanted = sorted(set(corpora))
        if wanted == sorted(known):
            return [None]
        return [(known[name] << _ID_BITS, ((known[name] + 1) << _ID_BITS) - 1) for name in wanted]

    def _candidates(
        self,
        conn: sqlite3.Connection,
        match: str,
        ranges: Sequence[tuple[int, int] | None],
        k: int,
        max_per_document: int | None,
    ) -> list[tuple[int, float]]:
        """Top passages by BM25, enough to rerank `k` hits, capped per document.

        FTS5 ranks the match set (within a corpus's id range, if given) in C and hands back the
        top `limit`; the ranges' rows are merged by score (BM25 statistics are store-wide, so
        scores compare). If the per-document cap leaves too few, the limit grows until the match
        set runs out.
        """
        pool = max(4 * k, 20)
        limit = pool * 2
        while True:
            rows: list[tuple[int, float, int]] = []
            exhausted = True
            try:
                for id_range in ranges:
                    found = self._top(conn, match, id_range, limit)
                    exhausted = exhausted and len(found) < limit
                    rows.extend(found)
            except sqlite3.OperationalError as error:  # a query FTS5 rejects: no hits
                if "fts5" in str(error).lower() or "syntax" in str(error).lower():
                    log.warning("corpus search: FTS5 rejected %r: %s", match, error)
                    return []
                raise
            rows.sort(key=lambda row: row[1])
            per_doc: dict[int, int] = {}
            kept: list[tuple[int, float]] = []
            for pid, score, doc in rows:
                seen = per_doc.get(doc, 0)
                if max_per_document is not None and seen >= max_per_document:
                    continue
                per_doc[doc] = seen + 1
                kept.append((pid, score))
                if len(kept) >= pool:
                    return kept
            if exhausted:
                return kept
            limit *= 4

    @staticmethod
    def _top(
        conn: sqlite3.Connection, match: str, id_range: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, float, int]]:
        where = "corpus_fts MATCH ?"
        params: tuple[Any, ...] = (match,)
        if id_range is not None:
            where += " AND rowid BETWEEN ? AND ?"
            params += id_range
        return conn.execute(
            f"""
            SELECT m.pid, m.score, p.doc
            FROM (SELECT rowid AS pid, rank AS score FROM corpus_fts
                  WHERE {where} ORDER BY rank LIMIT ?) AS m
            JOIN corpus_passages AS p ON p.id = m.pid
            """,
            (*params, limit),
        ).fetchall()

    def _hits(
        self,
        conn: sqlite3.Connection,
        rows: Sequence[tuple[Any, ...]],
        terms: Sequence[str],
        k: int,
    ) -> list[Hit]:
        """Rerank candidates (best BM25 first) by BM25 x coverage and title bonuses.

        The bonuses multiply BM25 by at most `_MAX_BONUS`, so once `k` hits are scored, a
        candidate whose BM25 times that is below the k-th best score cannot make the top k:
        it and every later candidate are skipped (the same top k as scoring them all)."""
        hits: list[Hit] = []
        best: list[float] = []  # min-heap of the k best final scores
        coverage_of = _CoverageMatcher(terms)
        step = max(k, 20)
        for first in range(0, len(rows), step):
            chunk = rows[first : first + step]
            if len(best) >= k and -float(chunk[0][1]) * _MAX_BONUS < best[0]:
                break
            scores = dict(chunk)
            marks = ",".join("?" * len(scores))
            details = conn.execute(
                f"""
                SELECT p.id, d.corpus, d.doc_id, d.url, d.title, p.start_char, p.end_char,
                       substr(d.text, p.start_char + 1, p.end_char - p.start_char), p.context
                FROM corpus_passages AS p JOIN corpus_documents AS d ON d.id = p.doc
                WHERE p.id IN ({marks})
                """,
                list(scores),
            ).fetchall()
            details.sort(key=lambda row: scores[row[0]])
            for pid, corpus, doc_id, url, title, start, end, text, context in details:
                bm25 = -float(scores[pid])  # FTS5 ranks lower-is-better
                if len(best) >= k and bm25 * _MAX_BONUS < best[0]:
                    return hits
                coverage = coverage_of(title, _body(context, text))
                title_match = _title_match(terms, title)
                score = (
                    bm25
                    * (1.0 + COVERAGE_WEIGHT * coverage)
                    * (1.0 + TITLE_MATCH_WEIGHT * title_match)
                )
                if len(best) < k:
                    heapq.heappush(best, score)
                elif score > best[0]:
                    heapq.heapreplace(best, score)
                hits.append(
                    Hit(
                        doc_id=doc_id,
                        corpus=corpus,
                        url=url,
                        title=title,
                        text=text,
                        start=start,
                        end=end,
                        score=score,
                        scores={"bm25": bm25, "coverage": coverage, "title": title_match},
                        context=context,
                    )
                )
        return hits

    # -- passages by id (for the dense index) -------------------------------------------------

    def instance_id(self) -> str:
        """A random id made once per database file, so an index built from another file (a
        deleted and rebuilt database) can be told apart."""
        with self._use() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO corpus_meta (key, value) VALUES ('instance', ?)",
                (uuid.uuid4().hex,),
            )
            return str(
                conn.execute("SELECT value FROM corpus_meta WHERE key = 'instance'").fetchone()[0]
            )

    def id_ranges(self, corpora: Sequence[str] | None = None) -> list[tuple[int, int]] | None:
        """Inclusive passage-id ranges of the named corpora, or None for all of them.

        Raises `UnknownCorpusError` for a name the store does not hold."""
        with self._use() as conn:
            ranges = self._ranges(conn, corpora)
        if ranges == [None]:
            return None
        return [r for r in ranges if r is not None]

    def passage_count(self, corpora: Sequence[str] | None = None) -> int:
        """Number of passages in the named corpora (default: all)."""
        ranges = self.id_ranges(corpora)
        with self._use() as conn:
            if ranges is None:
                return int(conn.execute("SELECT count(*) FROM corpus_passages").fetchone()[0])
            return sum(
                int(
                    conn.execute(
                        "SELECT count(*) FROM corpus_passages WHERE id BETWEEN ? AND ?", r
                    ).fetchone()[0]
                )
                for r in ranges
            )

    def passage_ids(self, corpora: Sequence[str] | None = None) -> set[int]:
        """Ids of every passage in the named corpora (default: all)."""
        ranges = self.id_ranges(corpora)
        with self._use() as conn:
            if ranges is None:
                return {row[0] for row in conn.execute("SELECT id FROM corpus_passages")}
            found: set[int] = set()
            for r in ranges:
                found.update(
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM corpus_passages WHERE id BETWEEN ? AND ?", r
                    )
                )
            return found

    def iter_passages(
        self, after_id: int = 0, corpora: Sequence[str] | None = None, batch: int = 256
    ) -> Iterator[list[tuple[int, str]]]:
        """Passages with id > `after_id`, in id order, `batch` at a time, as `(id, text to
        embed)` with the text being the title and the passage text on separate lines.

        Each batch is read in its own short lock, so searches and writes may run in between."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        ranges = self.id_ranges(corpora)
        for low, high in ranges if ranges is not None else [(0, (1 << 63) - 1)]:
            last = max(after_id + 1, low)
            while True:
                with self._use() as conn:
                    rows = conn.execute(
                        """
                        SELECT p.id, d.title,
                               substr(d.text, p.start_char + 1, p.end_char - p.start_char),
                               p.context
                        FROM corpus_passages AS p JOIN corpus_documents AS d ON d.id = p.doc
                        WHERE p.id BETWEEN ? AND ? ORDER BY p.id LIMIT ?
                        """,
                        (last, high, batch),
                    ).fetchall()
                if not rows:
                    break
                yield [
                    (pid, f"{title}\n{_body(context, text)}".strip())
                    for pid, title, text, context in rows
                ]
                last = rows[-1][0] + 1

    def passages_by_ids(self, ids: Sequence[int]) -> list[Hit]:
        """Hits for passage ids, in the order of `ids`, with score 0 (unknown ids skipped)."""
        return [hit for _, hit in self.passages_with_ids(ids)]

    def passage_documents(self, ids: Sequence[int]) -> dict[int, int]:
        """passage id -> its document's row id, for the ids that exist (no text is read)."""
        wanted = [int(i) for i in ids]
        out: dict[int, int] = {}
        with self._use() as conn:
            for first in range(0, len(wanted), 500):
                chunk = wanted[first : first + 500]
                marks = ",".join("?" * len(chunk))
                out.update(
                    conn.execute(
                        f"SELECT id, doc FROM corpus_passages WHERE id IN ({marks})", chunk
                    ).fetchall()
                )
        return out

    def passages_with_ids(self, ids: Sequence[int]) -> list[tuple[int, Hit]]:
        """`(id, hit)` for passage ids, in the order of `ids` (unknown ids skipped)."""
        wanted = [int(i) for i in ids]
        found: dict[int, Hit] = {}
        with self._use() as conn:
            for first in range(0, len(wanted), 500):
                chunk = wanted[first : first + 500]
                marks = ",".join("?" * len(chunk))
                for pid, corpus, doc_id, url, title, start, end, text, context in conn.execute(
                    f"""
                    SELECT p.id, d.corpus, d.doc_id, d.url, d.title, p.start_char, p.end_char,
                           substr(d.text, p.start_char + 1, p.end_char - p.start_char), p.context
                    FROM corpus_passages AS p JOIN corpus_documents AS d ON d.id = p.doc
                    WHERE p.id IN ({marks})
                    """,
                    chunk,
                ):
                    found[pid] = Hit(doc_id, corpus, url, title, text, start, end, 0.0, {}, context)
        return [(i, found[i]) for i in wanted if i in found]

    def best_passages(self, corpus: str, doc_id: str, goal: str, k: int = 3) -> list[Hit]:
        """Up to `k` passages of one document, best for `goal` first (BM25 with the same
        coverage bonus as `search`). If fewer than `k` match, the document's earliest other
        passages fill in, in order, with score 0. Raises `DocumentNotFoundError`."""
        terms = query_terms(goal)
        with self._use() as conn:
            row = conn.execute(
                "SELECT id FROM corpus_documents WHERE corpus = ? AND doc_id = ?", (corpus, doc_id)
            ).fetchone()
            if row is None:
                raise DocumentNotFoundError(f"no document {doc_id!r} in corpus {corpus!r}")
            doc = row[0]
            low, high = conn.execute(
                "SELECT min(id), max(id) FROM corpus_passages WHERE doc = ?", (doc,)
            ).fetchone()
            if k <= 0 or low is None:
                return []
            matched: list[tuple[Any, ...]] = []
            if terms:
                try:
                    found = conn.execute(
                        "SELECT rowid, rank FROM corpus_fts WHERE corpus_fts MATCH ? "
                        "AND rowid BETWEEN ? AND ? ORDER BY rank",
                        (build_match_query(terms), low, high),
                    ).fetchall()
                except sqlite3.OperationalError as error:
                    log.warning("best_passages: FTS5 rejected %r: %s", goal, error)
                    found = []
                mine = {
                    pid
                    for (pid,) in conn.execute(
                        "SELECT id FROM corpus_passages WHERE doc = ?", (doc,)
                    )
                }
                matched = [(pid, score) for pid, score in found if pid in mine]
            hits = self._hits(conn, matched, terms, k) if matched else []
            hits.sort(key=lambda hit: hit.score, reverse=True)
            hits = hits[:k]
            if len(hits) < k:
                taken = {hit.start for hit in hits}
                for start, end, text, title, url, context in conn.execute(
                    """
                    SELECT p.start_char, p.end_char,
                           substr(d.text, p.start_char + 1, p.end_char - p.start_char),
                           d.title, d.url, p.context
                    FROM corpus_passages AS p JOIN corpus_documents AS d ON d.id = p.doc
                    WHERE p.doc = ? ORDER BY p.ordinal
                    """,
                    (doc,),
                ):
                    if len(hits) >= k:
                        break
                    if start in taken:
                        continue
                    hits.append(
                        Hit(
                            doc_id,
                            corpus,
                            url,
                            title,
                            text,
                            start,
                            end,
                            0.0,
                            {"bm25": 0.0},
                            context,
                        )
                    )
        return hits

    def with_opening_read_on(self, hits: Sequence[Hit], min_chars: int) -> list[Hit]:
        """`hits` where a document's opening passage shorter than `min_chars` (a title and a
        one-line description: it wins on its title words yet states nothing) runs on through
        the passages after it until it has `min_chars` characters. The text stays one span of
        the document (`text == document.text[start:end]`), so it is cited like any passage.
        Other hits are returned as they are."""
        out = list(hits)
        short = [i for i, hit in enumerate(out) if len(hit.text) < min_chars]
        if not short:
            return out
        with self._use() as conn:
            for i in short:
                hit = out[i]
                passages = conn.execute(  # in order, read only as far as needed
                    """
                    SELECT p.start_char, p.end_char, d.id
                    FROM corpus_passages AS p JOIN corpus_documents AS d ON d.id = p.doc
                    WHERE d.corpus = ? AND d.doc_id = ? ORDER BY p.ordinal
                    """,
                    (hit.corpus, hit.doc_id),
                )
                first = passages.fetchone()
                if first is None or first[0] != hit.start:
                    continue  # not the document's opening passage
                end = hit.end
                for _, stop, _ in passages:
                    if end - hit.start >= min_chars:
                        break
                    end = max(end, stop)
                if end == hit.end:
                    continue
                (text,) = conn.execute(
                    "SELECT substr(text, ? + 1, ? - ?) FROM corpus_documents WHERE id = ?",
                    (hit.start, end, hit.start, first[2]),
                ).fetchone()
                out[i] = dataclasses.replace(hit, text=text, end=end)
        return out

    # -- maintenance ------------------------------------------------------------------------

    def optimize(self) -> None:
        """Merge the FTS5 index segments (faster queries after a large ingest) and return the
        pages that freed to the file system."""
        with self._use() as conn:
            conn.execute("INSERT INTO corpus_fts (corpus_fts) VALUES ('optimize')")
            conn.executescript("PRAGMA incremental_vacuum;")  # runs it to the end
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def check(self) -> None:
        """Verify the FTS5 index against the stored text; raises `CorpusError` if they differ."""
        with self._use() as conn:
            conn.execute("INSERT INTO corpus_fts (corpus_fts, rank) VALUES ('integrity-check', 1)")

    def rebuild_index(self) -> None:
        """Rebuild the FTS5 index from the stored documents and passages."""
        with self._use() as conn:
            conn.execute("INSERT INTO corpus_fts (corpus_fts) VALUES ('rebuild')")


_READ_FROM_TEXT = {"text": b"text", "markdown": b"markdown"}
"""What `corpus_structures.data` holds for a structure `parse_text` reads from the document's
own text (in that mode): it is read again on demand instead of stored (a third of the file for
`Label: value` corpora)."""


def _structure_data(structure: DocumentStructure) -> bytes:
    marker = _READ_FROM_TEXT.get(structure.read_from)
    if marker is not None:
        return marker
    return zlib.compress(
        json.dumps(structure.to_json(), ensure_ascii=False, separators=(",", ":")).encode(),
        1,  # fast: level 6 took a tenth of the ingest time for a few percent less space
    )


def _body(context: str, text: str) -> str:
    """A passage as FTS5 indexes it (the view `corpus_passage_content` computes the same)."""
    return f"{context}\n{text}" if context else text


def _split_sql(script: str) -> list[str]:
    """Statements of a schema script (no semicolons inside our statements' literals)."""
    return [statement.strip() for statement in script.split(";\n") if statement.strip()]
