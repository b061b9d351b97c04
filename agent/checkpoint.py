"""The run checkpointer: LangGraph's SQLite saver on a WAL database shared by concurrent runs."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

BUSY_TIMEOUT_MS = 30_000

_prepared: set[str] = set()
_prepare_lock = threading.Lock()


def prepare_checkpoint_db(path: Path) -> None:
    """Create the database in WAL mode once per process.

    Switching the journal mode needs the database to itself, so concurrent runs that each switched
    it on opening raced ("database is locked"). WAL is stored in the file: one switch, made here
    under a lock and with a busy timeout, serves every later connection.
    """
    key = str(path.resolve())
    with _prepare_lock:
        if key in _prepared:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(key, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        _prepared.add(key)


@contextlib.asynccontextmanager
async def open_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """An `AsyncSqliteSaver` on `path` that waits for other runs' writes instead of failing."""
    prepare_checkpoint_db(path)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        await saver.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await saver.conn.execute("PRAGMA synchronous=NORMAL")
        yield saver
