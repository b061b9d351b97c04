"""The knowledge cache: what the agent has read, the facts it learned (with their sources), the
evidence behind each goal, and a TTL cache of tool results. One SQLite file (sqlite-utils, WAL,
``synchronous=NORMAL``); every write is one short ``BEGIN IMMEDIATE`` transaction, so several
agents (threads, asyncio tasks, processes) can share a file: writers wait for each other (busy
timeout) instead of failing, and a process killed mid-write leaves a database that opens with
every committed row in it.

Plain data only: this module imports nothing from ``agent``, ``tools`` or ``retriever``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import os
import re
import sqlite3
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import sqlite_utils

SCHEMA_NAME = "wideseek-knowledge"
SCHEMA_VERSION = 2
"""1: documents, passages, facts, evidence, tool cache. 2: facts keep their passage span
(`start`, `end`), stored answers (`answers`), and the file's `instance_id` in `meta`."""
DEFAULT_TTL_S = 24 * 3600.0
DEFAULT_TIMEOUT_S = 30.0

_SQLITE_HEADER = b"SQLite format 3\x00"
# Tables another wideseek store may already have put in the file (the run store): a file holding
# only these is adopted rather than refused as foreign.
_ADOPTABLE_TABLES = frozenset({"runs", "events", "model_calls"})  # the run store's
_OUR_TABLES = frozenset(
    {"meta", "documents", "passages", "facts", "facts_fts", "evidence", "tool_cache", "answers"}
)
_CORRUPT_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_MAX_QUERY_TERMS = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    source_id TEXT PRIMARY KEY,
    url TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    corpus TEXT NOT NULL DEFAULT '',
    fetched_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL,
    "start" INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (source_id, "start", "end")
);
CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    source_id TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT '',
    time REAL NOT NULL,
    confidence REAL NOT NULL,
    subject_norm TEXT NOT NULL,
    attribute_norm TEXT NOT NULL,
    value_norm TEXT NOT NULL,
    "start" INTEGER,
    "end" INTEGER,
    UNIQUE (subject_norm, attribute_norm, value_norm, source_id)
);
CREATE INDEX IF NOT EXISTS facts_source ON facts (source_id);
CREATE VIRTUAL TABLE IF NOT EXISTS facts_fts USING fts5 (
    subject, attribute, value,
    content='facts', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS facts_ai AFTER INSERT ON facts BEGIN
    INSERT INTO facts_fts (rowid, subject, attribute, value)
    VALUES (new.id, new.subject, new.attribute, new.value);
END;
CREATE TRIGGER IF NOT EXISTS facts_ad AFTER DELETE ON facts BEGIN
    INSERT INTO facts_fts (facts_fts, rowid, subject, attribute, value)
    VALUES ('delete', old.id, old.subject, old.attribute, old.value);
END;
CREATE TRIGGER IF NOT EXISTS facts_au AFTER UPDATE OF subject, attribute, value ON facts BEGIN
    INSERT INTO facts_fts (facts_fts, rowid, subject, attribute, value)
    VALUES ('delete', old.id, old.subject, old.attribute, old.value);
    INSERT INTO facts_fts (rowid, subject, attribute, value)
    VALUES (new.id, new.subject, new.attribute, new.value);
END;
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    goal TEXT NOT NULL,
    goal_norm TEXT NOT NULL,
    source_id TEXT NOT NULL,
    "start" INTEGER,
    "end" INTEGER,
    note TEXT NOT NULL DEFAULT '',
    time REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS evidence_unique ON evidence (
    run_id, goal_norm, source_id, coalesce("start", -1), coalesce("end", -1)
);
CREATE INDEX IF NOT EXISTS evidence_goal ON evidence (goal_norm);
CREATE TABLE IF NOT EXISTS tool_cache (
    key TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    arguments TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS tool_cache_expires ON tool_cache (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    question TEXT NOT NULL,
    scope TEXT NOT NULL,
    answer TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_id TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expires_at REAL
);
"""
# Columns added after version 1, for files created by it: (table, column, declaration).
_ADDED_COLUMNS = (("facts", "start", "INTEGER"), ("facts", "end", "INTEGER"))


ClearWhat = Literal["all", "results", "tool_cache", "answers", "facts"]
_CLEARABLE: dict[str, tuple[str, ...]] = {
    "results": ("tool_cache", "answers"),
    "tool_cache": ("tool_cache",),
    "answers": ("answers",),
    "facts": ("facts",),
    "all": ("documents", "passages", "facts", "evidence", "tool_cache", "answers"),
}


class KnowledgeCacheError(RuntimeError):
    """The knowledge cache file cannot be used: corrupt, foreign, newer, or locked too long."""


@dataclass(frozen=True)
class DocumentRecord:
    source_id: str
    url: str
    title: str
    corpus: str
    fetched_at: float


@dataclass(frozen=True)
class PassageRecord:
    source_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class FactRecord:
    """A fact with its source. `start`/`end` is the passage span it was read from (None: the
    whole source or unknown) and `passage` that passage's stored text, if any; `url`/`title`
    come from the source's document row ('' when the document was never added); `score` is set
    by searches (higher is better)."""

    id: int
    subject: str
    attribute: str
    value: str
    source_id: str
    run_id: str
    time: float
    confidence: float
    start: int | None = None
    end: int | None = None
    url: str = ""
    title: str = ""
    passage: str | None = None
    score: float | None = None

    def text(self) -> str:
        """One line: `subject — attribute: value` (what the fact index embeds)."""
        return f"{self.subject} — {self.attribute}: {self.value}"


@dataclass(frozen=True)
class AnswerRecord:
    """A stored final answer: `payload` is what the run returned (JSON-ready)."""

    question: str
    scope: str
    answer: str
    payload: dict[str, Any]
    run_id: str
    created_at: float
    expires_at: float | None


@dataclass(frozen=True)
class EvidenceRecord:
    """Goal -> passage. `text` is the stored passage for that exact span, when there is one."""

    id: int
    run_id: str
    goal: str
    source_id: str
    start: int | None
    end: int | None
    note: str
    time: float
    text: str | None = None
    url: str = ""
    title: str = ""


def normalise_text(text: str) -> str:
    """Lookup form of a subject/attribute/value: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalise_arguments(value: Any) -> Any:
    """Tool arguments in canonical form: strings whitespace-collapsed (case kept), mappings with
    string keys, tuples as lists, integral floats as ints. Key order is fixed by the JSON dump."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, Mapping):
        return {str(key): normalise_arguments(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalise_arguments(item) for item in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def canonical_arguments(arguments: Mapping[str, Any]) -> str:
    """The canonical JSON of normalised arguments (sorted keys, no spaces)."""
    return json.dumps(
        normalise_arguments(arguments),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def tool_cache_key(tool: str, arguments: Mapping[str, Any]) -> str:
    """sha256 of the tool name and the canonical JSON of its normalised arguments."""
    payload = f"{tool}\n{canonical_arguments(arguments)}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _fts_query(text: str) -> str:
    """Free text -> an FTS5 OR-query of quoted terms (no FTS syntax reaches SQLite)."""
    terms: list[str] = []
    for term in re.findall(r"\w+", text):
        if term not in terms:
            terms.append(term)
    return " OR ".join(f'"{term}"' for term in terms[:_MAX_QUERY_TERMS])


_FACT_COLUMNS = (
    "f.id, f.subject, f.attribute, f.value, f.source_id, f.run_id, f.time, f.confidence, "
    "f.\"start\", f.\"end\", coalesce(d.url, '') AS url, coalesce(d.title, '') AS title, "
    "p.text AS passage"
)
_FACT_JOINS = (
    "LEFT JOIN documents d ON d.source_id = f.source_id "
    'LEFT JOIN passages p ON p.source_id = f.source_id AND p."start" = f."start" '
    'AND p."end" = f."end"'
)


class KnowledgeCache:
    """The knowledge cache in one SQLite file.

    One instance may be shared by threads (calls are serialised by a lock); for parallel writes
    give each thread or process its own instance on the same file.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        default_ttl: float | None = DEFAULT_TTL_S,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """Open (or create) the cache at `path`. `default_ttl` (seconds, None = never expires)
        applies to `put_tool_result(..., ttl=None)`; `timeout` is how long a writer waits for
        another writer's lock before giving up."""
        if default_ttl is not None and default_ttl < 0:
            raise ValueError("default_ttl must be >= 0 or None")
        self.path = Path(path)
        self.default_ttl = default_ttl
        self.timeout = timeout
        self._lock = threading.RLock()
        self._closed = False
        self._check_header()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(self.path), timeout=timeout, check_same_thread=False)
        except sqlite3.Error as error:
            raise KnowledgeCacheError(
                f"knowledge cache {self.path} cannot be opened ({error}); check the path and "
                "its permissions"
            ) from None
        try:
            self.db = sqlite_utils.Database(conn)
            # Check what the file is before changing anything in it (a foreign file is left as
            # it was, journal mode included).
            needs_schema = self._check_meta(self._tables())
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA journal_size_limit=67108864")
            if needs_schema:
                self._create_schema()
        except BaseException as error:
            conn.close()
            self._closed = True
            if isinstance(error, sqlite3.Error):
                raise self._translate(error) from None
            raise

    # -- opening -----------------------------------------------------------------------------

    def _check_header(self) -> None:
        try:
            with self.path.open("rb") as handle:
                header = handle.read(len(_SQLITE_HEADER))
        except FileNotFoundError:
            return
        except IsADirectoryError:
            raise KnowledgeCacheError(
                f"knowledge cache {self.path} is a directory; give a file path"
            ) from None
        if header and header != _SQLITE_HEADER:
            raise KnowledgeCacheError(
                f"knowledge cache {self.path} is not a SQLite database (corrupt or some other "
                "file); move it aside or delete it and a new cache will be created"
            )

    def _meta(self) -> dict[str, str]:
        rows = self.db.conn.execute("SELECT key, value FROM meta").fetchall()
        return {str(key): str(value) for key, value in rows}

    def _tables(self) -> set[str]:
        return {name for name in self.db.table_names() if not name.startswith("sqlite_")}

    def _check_meta(self, tables: set[str]) -> bool:
        """Refuse foreign or newer files; True when the schema must be (re)created."""
        if "meta" not in tables:
            foreign = {name for name in tables if not name.startswith("facts_fts_")}
            foreign -= _ADOPTABLE_TABLES
            if foreign:
                shown = ", ".join(sorted(foreign)[:6])
                raise KnowledgeCacheError(
                    f"{self.path} is a SQLite database but not a wideseek knowledge cache "
                    f"(tables: {shown}); point the cache at another file or move this one aside"
                )
            return True
        meta = self._meta()
        if meta.get("schema") != SCHEMA_NAME:
            raise KnowledgeCacheError(
                f"{self.path} is a SQLite database but not a wideseek knowledge cache (schema "
                f"{meta.get('schema')!r}); point the cache at another file or move this one aside"
            )
        try:
            version = int(meta.get("version", ""))
        except ValueError:
            raise KnowledgeCacheError(
                f"knowledge cache {self.path} has an unreadable schema version "
                f"{meta.get('version')!r}; move it aside and a new cache will be created"
            ) from None
        if version > SCHEMA_VERSION:
            raise KnowledgeCacheError(
                f"knowledge cache {self.path} was written by a newer wideseek (schema version "
                f"{version}; this one reads up to {SCHEMA_VERSION}); upgrade wideseek or point "
                "the cache at another file"
            )
        return version < SCHEMA_VERSION or not _OUR_TABLES.issubset(tables)

    def _create_schema(self) -> None:
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another writer may have created (or claimed) the file meanwhile: check again.
            if self._check_meta(self._tables()):
                for statement in _statements(_SCHEMA):
                    conn.execute(statement)
                for table, column, declaration in _ADDED_COLUMNS:  # a version-1 file
                    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                    if column not in have:
                        conn.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {declaration}')
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value "
                    "WHERE meta.key = 'version'",
                    [
                        ("schema", SCHEMA_NAME),
                        ("version", str(SCHEMA_VERSION)),
                        ("created_at", repr(time.time())),
                        ("instance_id", uuid.uuid4().hex),
                    ],
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # -- plumbing ----------------------------------------------------------------------------

    def _translate(self, error: sqlite3.Error) -> Exception:
        code = getattr(error, "sqlite_errorcode", None)
        if code in _CORRUPT_CODES or "not a database" in str(error):
            return KnowledgeCacheError(
                f"knowledge cache {self.path} is corrupt or not a SQLite database ({error}); "
                "move it aside or delete it and a new cache will be created"
            )
        if code in _BUSY_CODES:
            return KnowledgeCacheError(
                f"knowledge cache {self.path} stayed locked by another writer for more than "
                f"{self.timeout:g} s ({error}); try again or raise the timeout"
            )
        return error

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise KnowledgeCacheError(f"knowledge cache {self.path} is closed")
        return self.db.conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; BEGIN IMMEDIATE takes the write lock up front, so a busy
        database makes us wait (busy timeout) rather than fail half-way."""
        with self._lock:
            conn = self._conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise self._translate(error) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as error:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    translated = self._translate(error)
                    if translated is not error:
                        raise translated from error
                raise

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._conn().cursor()
            cursor.row_factory = sqlite3.Row
            try:
                return cursor.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as error:
                raise self._translate(error) from None

    @staticmethod
    def _fact(row: sqlite3.Row, score: float | None = None) -> FactRecord:
        return FactRecord(
            id=row["id"],
            subject=row["subject"],
            attribute=row["attribute"],
            value=row["value"],
            source_id=row["source_id"],
            run_id=row["run_id"],
            time=row["time"],
            confidence=row["confidence"],
            start=row["start"],
            end=row["end"],
            url=row["url"],
            title=row["title"],
            passage=row["passage"],
            score=score,
        )

    # -- documents and passages --------------------------------------------------------------

    def add_document(
        self,
        source_id: str,
        url: str = "",
        title: str = "",
        corpus: str = "",
        *,
        fetched_at: float | None = None,
    ) -> None:
        """Record that a source was read. Re-adding updates it; empty fields keep old values."""
        if not source_id:
            raise ValueError("source_id must not be empty")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO documents (source_id, url, title, corpus, fetched_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
                "url = coalesce(nullif(excluded.url, ''), documents.url), "
                "title = coalesce(nullif(excluded.title, ''), documents.title), "
                "corpus = coalesce(nullif(excluded.corpus, ''), documents.corpus), "
                "fetched_at = excluded.fetched_at",
                (source_id, url, title, corpus, time.time() if fetched_at is None else fetched_at),
            )

    def get_document(self, source_id: str) -> DocumentRecord | None:
        rows = self._rows(
            "SELECT source_id, url, title, corpus, fetched_at FROM documents WHERE source_id = ?",
            [source_id],
        )
        return DocumentRecord(**dict(rows[0])) if rows else None

    def add_passages(
        self, source_id: str, passages: Iterable[tuple[int | None, int | None, str]]
    ) -> int:
        """Store passages `(start, end, text)` of a source (None start/end: the whole text, 0 to
        len(text)). The same span again replaces its text. Returns how many were given."""
        if not source_id:
            raise ValueError("source_id must not be empty")
        rows = []
        for start, end, text in passages:
            first = 0 if start is None else int(start)
            last = first + len(text) if end is None else int(end)
            if last < first:
                raise ValueError(f"passage end {last} is before its start {first}")
            rows.append((source_id, first, last, text))
        if not rows:
            return 0
        with self._write() as conn:
            conn.executemany(
                'INSERT INTO passages (source_id, "start", "end", text) VALUES (?, ?, ?, ?) '
                'ON CONFLICT (source_id, "start", "end") DO UPDATE SET text = excluded.text',
                rows,
            )
        return len(rows)

    def get_passages(self, source_id: str) -> list[PassageRecord]:
        rows = self._rows(
            'SELECT source_id, "start", "end", text FROM passages WHERE source_id = ? '
            'ORDER BY "start", "end"',
            [source_id],
        )
        return [PassageRecord(**dict(row)) for row in rows]

    # -- facts -------------------------------------------------------------------------------

    @staticmethod
    def _fact_row(
        subject: str,
        attribute: str,
        value: str,
        source_id: str,
        run_id: str = "",
        *,
        confidence: float = 1.0,
        time: float | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[Any, ...]:
        subject, attribute, value = (str(part).strip() for part in (subject, attribute, value))
        if not subject or not attribute or not value:
            raise ValueError("a fact needs a subject, an attribute and a value")
        if not source_id:
            raise ValueError(f"fact {subject!r} {attribute!r} needs a source_id")
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be within [0, 1], not {confidence}")
        if (start is None) != (end is None) or (
            start is not None and end is not None and end < start
        ):
            raise ValueError(f"fact passage span ({start}, {end}) is not a span")
        when = _now() if time is None else float(time)
        return (
            subject,
            attribute,
            value,
            source_id,
            run_id,
            when,
            float(confidence),
            normalise_text(subject),
            normalise_text(attribute),
            normalise_text(value),
            None if start is None else int(start),
            None if end is None else int(end),
        )

    _UPSERT_FACT = (
        "INSERT INTO facts (subject, attribute, value, source_id, run_id, time, confidence, "
        'subject_norm, attribute_norm, value_norm, "start", "end") '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (subject_norm, attribute_norm, value_norm, source_id) DO UPDATE SET "
        "time = excluded.time, confidence = excluded.confidence, "
        '"start" = coalesce(excluded."start", facts."start"), '
        '"end" = coalesce(excluded."end", facts."end") RETURNING id'
    )

    def record_fact(
        self,
        subject: str,
        attribute: str,
        value: str,
        source_id: str,
        run_id: str = "",
        *,
        confidence: float = 1.0,
        time: float | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> int:
        """Store a fact and return its id. `start`/`end`: the span of the source's passage it
        was read from (both or neither). The same (subject, attribute, value, source) again —
        compared case- and whitespace-insensitively — keeps its id and first run id, and takes
        the new time, confidence and span (a missing span keeps the old one)."""
        row = self._fact_row(
            subject, attribute, value, source_id, run_id, confidence=confidence, time=time,
            start=start, end=end,
        )  # fmt: skip
        with self._write() as conn:
            return int(conn.execute(self._UPSERT_FACT, row).fetchall()[0][0])

    def record_facts(self, facts: Iterable[Mapping[str, Any]]) -> list[int]:
        """Store several facts (mappings with `record_fact`'s argument names) in one
        transaction: all or none. Returns their ids in order."""
        rows = [self._fact_row(**fact) for fact in facts]
        if not rows:
            return []
        with self._write() as conn:
            return [int(conn.execute(self._UPSERT_FACT, row).fetchall()[0][0]) for row in rows]

    def facts_about(
        self, subject: str, attribute: str | None = None, limit: int = 50
    ) -> list[FactRecord]:
        """Facts whose subject (and attribute) match after normalisation, most confident and
        most recent first."""
        where = "f.subject_norm = ?"
        params: list[Any] = [normalise_text(subject)]
        if attribute is not None:
            where += " AND f.attribute_norm = ?"
            params.append(normalise_text(attribute))
        rows = self._rows(
            f"SELECT {_FACT_COLUMNS} FROM facts f {_FACT_JOINS} "
            f"WHERE {where} ORDER BY f.confidence DESC, f.time DESC, f.id LIMIT ?",
            [*params, limit],
        )
        return [self._fact(row) for row in rows]

    def search_facts(self, text: str, limit: int = 20) -> list[FactRecord]:
        """Lexical search (FTS5, BM25; subject weighs double) over subject, attribute and value.
        Any term may match; `score` is the negated BM25 rank (higher is better)."""
        query = _fts_query(text)
        if not query or limit <= 0:
            return []
        rows = self._rows(
            f"SELECT {_FACT_COLUMNS}, bm25(facts_fts, 2.0, 1.0, 1.0) AS rank "
            f"FROM facts_fts JOIN facts f ON f.id = facts_fts.rowid {_FACT_JOINS} "
            "WHERE facts_fts MATCH ? ORDER BY rank LIMIT ?",
            [query, limit],
        )
        return [self._fact(row, score=-row["rank"]) for row in rows]

    def all_facts(self, since_id: int = 0, limit: int | None = None) -> list[FactRecord]:
        """Facts with id > `since_id`, in id order: for an indexer that embeds new facts. Ids
        only grow (AUTOINCREMENT), even after `clear`; re-recording keeps a fact's id."""
        rows = self._rows(
            f"SELECT {_FACT_COLUMNS} FROM facts f {_FACT_JOINS} "
            "WHERE f.id > ? ORDER BY f.id LIMIT ?",
            [since_id, -1 if limit is None else limit],
        )
        return [self._fact(row) for row in rows]

    def facts_by_ids(self, ids: Iterable[int]) -> list[FactRecord]:
        """The facts with these ids, in the order given (ids that no longer exist are left
        out)."""
        wanted = [int(i) for i in ids]
        found: dict[int, FactRecord] = {}
        for first in range(0, len(wanted), 500):
            chunk = wanted[first : first + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._rows(
                f"SELECT {_FACT_COLUMNS} FROM facts f {_FACT_JOINS} WHERE f.id IN ({marks})",
                chunk,
            ):
                found[int(row["id"])] = self._fact(row)
        return [found[i] for i in wanted if i in found]

    def remove_facts(self, ids: Iterable[int]) -> int:
        """Delete facts by id (a user found them wrong); returns how many existed. Mirrors of
        the facts (`FactIndex`) notice on their next sync."""
        wanted = sorted({int(i) for i in ids})
        with self._write() as conn:
            return sum(
                conn.execute("DELETE FROM facts WHERE id = ?", (i,)).rowcount for i in wanted
            )

    def fact_id_summary(self) -> tuple[int, int]:
        """(how many facts, the largest fact id): enough to tell whether a mirror of the facts
        made from this cache is current, since ids only grow."""
        row = self._rows("SELECT count(*), coalesce(max(id), 0) FROM facts")[0]
        return int(row[0]), int(row[1])

    def fact_ids(self) -> list[int]:
        """Every fact id, ascending (for an index that mirrors the facts)."""
        return [int(row[0]) for row in self._rows("SELECT id FROM facts ORDER BY id")]

    def instance_id(self) -> str:
        """A random id made when the file was created: an index built for another (deleted and
        recreated) cache file can be told apart."""
        rows = self._rows("SELECT value FROM meta WHERE key = 'instance_id'")
        return str(rows[0][0]) if rows else ""

    # -- evidence ----------------------------------------------------------------------------

    def record_evidence(
        self,
        run_id: str,
        goal: str,
        source_id: str,
        start: int | None = None,
        end: int | None = None,
        note: str = "",
        *,
        time: float | None = None,
    ) -> int:
        """Link a goal to a passage (or a whole source when start/end are None) and return the
        link's id; the same link again updates its note and time."""
        if not goal.strip() or not source_id:
            raise ValueError("evidence needs a goal and a source_id")
        if start is not None and end is not None and end < start:
            raise ValueError(f"evidence end {end} is before its start {start}")
        with self._write() as conn:
            row = conn.execute(
                'INSERT INTO evidence (run_id, goal, goal_norm, source_id, "start", "end", '
                "note, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, goal_norm, "
                'source_id, coalesce("start", -1), coalesce("end", -1)) DO UPDATE SET '
                "note = excluded.note, time = excluded.time RETURNING id",
                (
                    run_id,
                    goal,
                    normalise_text(goal),
                    source_id,
                    start,
                    end,
                    note,
                    _now() if time is None else time,
                ),
            ).fetchall()
        return int(row[0][0])

    def evidence_for(
        self, goal: str | None = None, *, run_id: str | None = None, limit: int = 500
    ) -> list[EvidenceRecord]:
        """Evidence for a goal (matched after normalisation), for a run, or both, in the order
        first recorded."""
        if goal is None and run_id is None:
            raise ValueError("evidence_for needs a goal, a run_id or both")
        clauses, params = [], []
        if goal is not None:
            clauses.append("e.goal_norm = ?")
            params.append(normalise_text(goal))
        if run_id is not None:
            clauses.append("e.run_id = ?")
            params.append(run_id)
        rows = self._rows(
            'SELECT e.id, e.run_id, e.goal, e.source_id, e."start", e."end", e.note, e.time, '
            "p.text, coalesce(d.url, '') AS url, coalesce(d.title, '') AS title "
            "FROM evidence e LEFT JOIN passages p ON p.source_id = e.source_id "
            'AND p."start" = e."start" AND p."end" = e."end" '
            "LEFT JOIN documents d ON d.source_id = e.source_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY e.id LIMIT ?",
            [*params, limit],
        )
        return [EvidenceRecord(**dict(row)) for row in rows]

    # -- tool-result cache -------------------------------------------------------------------

    def get_tool_result(
        self, tool: str, arguments: Mapping[str, Any], now: float | None = None
    ) -> list[dict[str, Any]] | None:
        """The cached result of `tool` for these (normalised) arguments; None when absent or
        expired at `now` (default: the current time)."""
        moment = _now() if now is None else now
        rows = self._rows(
            "SELECT result FROM tool_cache WHERE key = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            [tool_cache_key(tool, arguments), moment],
        )
        if not rows:
            return None
        result: list[dict[str, Any]] = json.loads(rows[0][0])
        return result

    def put_tool_result(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        result: list[dict[str, Any]],
        ttl: float | None = None,
        *,
        now: float | None = None,
    ) -> bool:
        """Cache a tool's result for `ttl` seconds (None: the cache's default TTL). `ttl=0` means
        "depends on now": nothing is cached, and an older entry for the same call is dropped.
        Returns whether the result was stored."""
        if not isinstance(result, list):
            raise TypeError(f"a tool result is a list of dicts, not {type(result).__name__}")
        lifetime = self.default_ttl if ttl is None else ttl
        if lifetime is not None and lifetime < 0:
            raise ValueError(f"ttl must be >= 0 or None, not {ttl}")
        key = tool_cache_key(tool, arguments)
        moment = _now() if now is None else now
        with self._write() as conn:
            if lifetime == 0:
                conn.execute("DELETE FROM tool_cache WHERE key = ?", (key,))
                return False
            conn.execute(
                "INSERT OR REPLACE INTO tool_cache "
                "(key, tool, arguments, result, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key,
                    tool,
                    canonical_arguments(arguments),
                    json.dumps(result, ensure_ascii=False, default=str),
                    moment,
                    None if lifetime is None else moment + lifetime,
                ),
            )
        return True

    def purge_expired(self, now: float | None = None) -> int:
        """Delete expired tool results and answers; returns how many."""
        moment = _now() if now is None else now
        with self._write() as conn:
            removed = 0
            for table in ("tool_cache", "answers"):
                removed += conn.execute(
                    f"DELETE FROM {table} WHERE expires_at IS NOT NULL AND expires_at <= ?",
                    (moment,),
                ).rowcount
            return removed

    # -- stored answers ----------------------------------------------------------------------

    @staticmethod
    def answer_key(question: str, scope: str) -> str:
        """sha256 of the normalised question and the scope it was answered in."""
        return hashlib.sha256(f"{normalise_text(question)}\n{scope}".encode()).hexdigest()

    def put_answer(
        self,
        question: str,
        scope: str,
        answer: str,
        payload: Mapping[str, Any],
        run_id: str = "",
        ttl: float | None = None,
        *,
        now: float | None = None,
    ) -> bool:
        """Keep a run's final answer for the same question asked again in the same `scope`
        (what the answer depended on: corpus versions, models). `ttl` as for tool results
        (None: the default TTL; 0: not stored, and an older answer is dropped). Returns whether
        it was stored."""
        if not question.strip():
            raise ValueError("an answer needs its question")
        lifetime = self.default_ttl if ttl is None else ttl
        if lifetime is not None and lifetime < 0:
            raise ValueError(f"ttl must be >= 0 or None, not {ttl}")
        key = self.answer_key(question, scope)
        moment = _now() if now is None else now
        with self._write() as conn:
            if lifetime == 0:
                conn.execute("DELETE FROM answers WHERE key = ?", (key,))
                return False
            conn.execute(
                "INSERT OR REPLACE INTO answers (key, question, scope, answer, payload, run_id, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    question,
                    scope,
                    answer,
                    json.dumps(dict(payload), ensure_ascii=False, default=str),
                    run_id,
                    moment,
                    None if lifetime is None else moment + lifetime,
                ),
            )
        return True

    def get_answer(
        self, question: str, scope: str, now: float | None = None
    ) -> AnswerRecord | None:
        """The stored answer to this question in this scope; None when absent or expired."""
        moment = _now() if now is None else now
        rows = self._rows(
            "SELECT question, scope, answer, payload, run_id, created_at, expires_at "
            "FROM answers WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            [self.answer_key(question, scope), moment],
        )
        if not rows:
            return None
        row = dict(rows[0])
        try:
            payload = json.loads(row.pop("payload"))
        except json.JSONDecodeError:
            return None
        return AnswerRecord(payload=payload if isinstance(payload, dict) else {}, **row)

    # -- maintenance -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Rows per table, expired tool results, the newest fact id and bytes on disk
        (database plus its WAL)."""
        with self._lock:
            conn = self._conn()
            try:
                conn.execute("BEGIN")  # one snapshot for all the counts
                try:
                    counts = {
                        table: self.db.table(table).count
                        for table in (
                            "documents",
                            "passages",
                            "facts",
                            "evidence",
                            "tool_cache",
                            "answers",
                        )
                    }
                    expired = conn.execute(
                        "SELECT count(*) FROM tool_cache "
                        "WHERE expires_at IS NOT NULL AND expires_at <= ?",
                        (_now(),),
                    ).fetchone()[0]
                    last_fact = conn.execute("SELECT coalesce(max(id), 0) FROM facts").fetchone()
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as error:
                raise self._translate(error) from None
        size = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                size += os.path.getsize(f"{self.path}{suffix}")
        return {
            "path": str(self.path),
            "schema_version": SCHEMA_VERSION,
            **counts,
            "tool_cache_expired": int(expired),
            "last_fact_id": int(last_fact[0]),
            "db_bytes": size,
        }

    def export(self, path: Path | str, format: Literal["jsonl", "csv"] = "jsonl") -> int:
        """Write every fact with its source (url, title, corpus) to `path`, atomically (a
        temporary file renamed into place). Returns how many facts were written."""
        if format not in ("jsonl", "csv"):
            raise ValueError(f"unknown export format {format!r}; use 'jsonl' or 'csv'")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        fields = [
            "id",
            "subject",
            "attribute",
            "value",
            "confidence",
            "time",
            "run_id",
            "source_id",
            "start",
            "end",
            "url",
            "title",
            "corpus",
        ]
        count = 0
        try:
            with self._lock, partial.open("w", encoding="utf-8", newline="") as handle:
                cursor = self._conn().cursor()
                cursor.row_factory = sqlite3.Row
                try:
                    rows = cursor.execute(
                        "SELECT f.id, f.subject, f.attribute, f.value, f.confidence, f.time, "
                        'f.run_id, f.source_id, f."start", f."end", coalesce(d.url, \'\') AS url, '
                        "coalesce(d.title, '') AS title, coalesce(d.corpus, '') AS corpus "
                        "FROM facts f LEFT JOIN documents d USING (source_id) ORDER BY f.id"
                    )
                    writer = csv.DictWriter(handle, fieldnames=fields) if format == "csv" else None
                    if writer is not None:
                        writer.writeheader()
                    for row in rows:
                        record = dict(row)
                        if writer is not None:
                            writer.writerow(record)
                        else:
                            source = {
                                k: record.pop(k)
                                for k in ("source_id", "start", "end", "url", "title")
                            }
                            source["corpus"] = record.pop("corpus")
                            handle.write(
                                json.dumps({**record, "source": source}, ensure_ascii=False) + "\n"
                            )
                        count += 1
                except sqlite3.Error as error:
                    raise self._translate(error) from None
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return count

    def clear(self, what: ClearWhat) -> dict[str, int]:
        """Delete part of the cache: `tool_cache` (tool results), `answers` (stored answers),
        `results` (both), `facts`, or `all` (documents, passages, facts, evidence, tool results
        and answers; not the schema, and not a run store's tables sharing the file). Returns
        rows deleted per table."""
        tables = _CLEARABLE.get(what)
        if tables is None:
            raise ValueError(f"clear what? {what!r}; use one of {', '.join(_CLEARABLE)}")
        deleted: dict[str, int] = {}
        with self._write() as conn:
            for table in tables:
                deleted[table] = conn.execute(f"DELETE FROM {table}").rowcount
        return deleted

    def vacuum(self) -> None:
        """Give the space of deleted rows back to the file system (after a large `clear`)."""
        with self._lock:
            conn = self._conn()
            try:
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as error:
                raise self._translate(error) from None

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.db.conn.close()

    def __enter__(self) -> KnowledgeCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KnowledgeCache({str(self.path)!r})"


def _now() -> float:
    return time.time()


def _statements(script: str) -> Iterator[str]:
    """Split a SQL script into statements (trigger bodies included) without executescript(),
    which would commit the open transaction."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "AnswerRecord",
    "ClearWhat",
    "DocumentRecord",
    "EvidenceRecord",
    "FactRecord",
    "KnowledgeCache",
    "KnowledgeCacheError",
    "PassageRecord",
    "canonical_arguments",
    "normalise_arguments",
    "normalise_text",
    "tool_cache_key",
]
