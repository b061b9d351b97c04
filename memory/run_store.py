"""Runs and their events in SQLite (sqlite-utils, WAL): written as they happen, so nothing is
lost on a crash, and past runs can be listed and reopened. Every model call of a run (the
messages sent and the text that came back, per role and task) is kept too: the traces that
fine-tuning data is made of (`finetune export`)."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils


class RunStoreError(RuntimeError):
    """The run store file is unreadable."""


@dataclass
class RunRecord:
    run_id: str
    question: str
    status: str
    started_at: float
    finished_at: float | None
    answer: str | None
    result: dict[str, Any] | None


@dataclass
class ModelCallRecord:
    """One model call of a run: who asked (role), for what (task: the output schema's name, or
    "answer" for the writer's free text), the messages sent and the text that came back."""

    run_id: str
    seq: int
    role: str
    task: str
    messages: list[dict[str, str]]
    output: str
    time: float
    prompt_tokens: int = 0
    completion_tokens: int = 0


class RunStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(self.path), check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self.db = sqlite_utils.Database(conn)
            self._ensure_schema()
        except sqlite3.DatabaseError as error:
            raise RunStoreError(
                f"run store {self.path} is unreadable ({error}); move it aside to start a new one"
            ) from None

    def _table(self, name: str) -> sqlite_utils.db.Table:
        return self.db.table(name)

    def _ensure_schema(self) -> None:
        if "runs" not in self.db.table_names():
            self._table("runs").create(
                {
                    "run_id": str,
                    "question": str,
                    "status": str,
                    "started_at": float,
                    "finished_at": float,
                    "answer": str,
                    "result": str,
                },
                pk="run_id",
            )
        if "events" not in self.db.table_names():
            self._table("events").create(
                {"run_id": str, "seq": int, "type": str, "step": int, "time": float, "data": str},
                pk=("run_id", "seq"),
            )
        if "model_calls" not in self.db.table_names():
            self._table("model_calls").create(
                {
                    "run_id": str,
                    "seq": int,
                    "role": str,
                    "task": str,
                    "messages": str,
                    "output": str,
                    "time": float,
                    "prompt_tokens": int,
                    "completion_tokens": int,
                },
                pk=("run_id", "seq"),
            )

    def _next_seq(self, table: str, run_id: str) -> int:
        """The next sequence number of `run_id` in `table` (events or model_calls)."""
        row = self.db.execute(
            f"SELECT COALESCE(MAX(seq), -1) + 1 FROM {table} WHERE run_id = ?", [run_id]
        ).fetchone()
        return int(row[0])

    def start_run(self, run_id: str, question: str) -> None:
        existing = self._table("runs").count_where("run_id = ?", [run_id])
        if existing:
            self._table("runs").update(run_id, {"status": "running"})
            return
        self._table("runs").insert(
            {
                "run_id": run_id,
                "question": question,
                "status": "running",
                "started_at": time.time(),
                "finished_at": None,
                "answer": None,
                "result": None,
            }
        )

    def add_event(self, run_id: str, event: dict[str, Any]) -> None:
        seq = self._next_seq("events", run_id)
        self._table("events").insert(
            {
                "run_id": run_id,
                "seq": seq,
                "type": event["type"],
                "step": event.get("step", 0),
                "time": event.get("time", time.time()),
                "data": json.dumps(event.get("data", {}), default=str),
            }
        )

    def add_model_call(
        self,
        run_id: str,
        role: str,
        task: str,
        messages: list[dict[str, str]],
        output: str,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        """Record one model call of `run_id` (messages as {"role", "content"} dicts)."""
        seq = self._next_seq("model_calls", run_id)
        self._table("model_calls").insert(
            {
                "run_id": run_id,
                "seq": seq,
                "role": role,
                "task": task,
                "messages": json.dumps(messages, ensure_ascii=False),
                "output": output,
                "time": time.time(),
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
            }
        )

    def model_calls(self, run_id: str) -> list[ModelCallRecord]:
        """The model calls of `run_id`, in order."""
        rows = self._table("model_calls").rows_where("run_id = ?", [run_id], order_by="seq")
        return [
            ModelCallRecord(
                run_id=r["run_id"],
                seq=r["seq"],
                role=r["role"],
                task=r["task"],
                messages=json.loads(r["messages"]),
                output=r["output"],
                time=r["time"],
                prompt_tokens=r["prompt_tokens"] or 0,
                completion_tokens=r["completion_tokens"] or 0,
            )
            for r in rows
        ]

    def finish_run(self, run_id: str, status: str, answer: str, result: dict[str, Any]) -> None:
        self._table("runs").update(
            run_id,
            {
                "status": status,
                "finished_at": time.time(),
                "answer": answer,
                "result": json.dumps(result, default=str),
            },
        )

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = list(self._table("runs").rows_where("run_id = ?", [run_id]))
        return self._record(rows[0]) if rows else None

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        rows = self._table("runs").rows_where(order_by="started_at desc", limit=limit)
        return [self._record(row) for row in rows]

    def events(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._table("events").rows_where("run_id = ?", [run_id], order_by="seq")
        return [
            {"type": r["type"], "step": r["step"], "time": r["time"], "data": json.loads(r["data"])}
            for r in rows
        ]

    @staticmethod
    def _record(row: dict[str, Any]) -> RunRecord:
        return RunRecord(
            run_id=row["run_id"],
            question=row["question"],
            status=row["status"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            answer=row["answer"],
            result=json.loads(row["result"]) if row["result"] else None,
        )

    def close(self) -> None:
        self.db.conn.close()
