"""Runs a person marked as good training material (`wideseek finetune accept RUN_ID`).

The marks live in a small SQLite file owned by finetune, beside the run store it refers to
(`runs.db` -> `runs.accepted.db`): the run store's schema stays the agent's, a mark survives
re-runs of the agent, and deleting the file forgets every mark. A run whose stored result has
`"accepted": true` counts as accepted too.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from finetune.errors import FinetuneError


def accepted_path(store_path: Path) -> Path:
    """The marks file that belongs to the run store at `store_path`."""
    return store_path.with_name(f"{store_path.stem}.accepted.db")


class AcceptedRuns:
    """The accepted run ids of one run store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.conn = sqlite3.connect(str(path))
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS accepted "
                "(run_id TEXT PRIMARY KEY, accepted_at REAL NOT NULL, note TEXT NOT NULL)"
            )
            self.conn.commit()
        except sqlite3.Error as error:
            raise FinetuneError(f"accepted-runs file {path} is unusable ({error})") from None

    def accept(self, run_ids: Iterable[str], note: str = "") -> int:
        """Mark `run_ids` accepted (again: the note and time are updated); the number marked."""
        rows = [(run_id, time.time(), note) for run_id in run_ids]
        with self.conn:
            self.conn.executemany(
                "INSERT INTO accepted (run_id, accepted_at, note) VALUES (?, ?, ?) "
                "ON CONFLICT(run_id) DO UPDATE SET accepted_at = excluded.accepted_at, "
                "note = excluded.note",
                rows,
            )
        return len(rows)

    def unaccept(self, run_ids: Iterable[str]) -> int:
        """Remove the marks of `run_ids`; the number removed."""
        with self.conn:
            removed = 0
            for run_id in run_ids:
                removed += self.conn.execute(
                    "DELETE FROM accepted WHERE run_id = ?", (run_id,)
                ).rowcount
        return removed

    def ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT run_id FROM accepted")}

    def entries(self) -> list[tuple[str, float, str]]:
        """(run id, when, note), oldest first."""
        rows = self.conn.execute(
            "SELECT run_id, accepted_at, note FROM accepted ORDER BY accepted_at"
        )
        return [(str(r[0]), float(r[1]), str(r[2])) for r in rows]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> AcceptedRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def accepted_ids(store_path: Path) -> set[str]:
    """The run ids marked accepted for the run store at `store_path` (none if never marked)."""
    path = accepted_path(store_path)
    if not path.exists():
        return set()
    with AcceptedRuns(path) as marks:
        return marks.ids()
