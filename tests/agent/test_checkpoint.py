import asyncio
import sqlite3
from pathlib import Path

from agent.checkpoint import open_checkpointer, prepare_checkpoint_db


async def test_many_concurrent_openers_of_a_new_database_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "checkpoints.db"

    async def open_and_write(i: int) -> int:
        async with open_checkpointer(path) as saver:
            await saver.setup()
            await saver.conn.execute("CREATE TABLE IF NOT EXISTS probe (i INTEGER)")
            await saver.conn.execute("INSERT INTO probe VALUES (?)", (i,))
            await saver.conn.commit()
            cursor = await saver.conn.execute("PRAGMA busy_timeout")
            row = await cursor.fetchone()
            assert row is not None
            return int(row[0])

    timeouts = await asyncio.gather(*(open_and_write(i) for i in range(12)))
    assert all(timeout >= 10_000 for timeout in timeouts)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sorted(i for (i,) in conn.execute("SELECT i FROM probe")) == list(range(12))


def test_prepare_switches_an_existing_database_to_wal(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    prepare_checkpoint_db(path)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
