"""WideSearch tasks and gold tables.

A task file is JSON lines; each line holds ``instance_id``, ``query``, ``language`` and
``evaluation``, a JSON *string* (a plain object is accepted too) with ``unique_columns`` (the
key), ``required`` (the normalised column names) and ``eval_pipeline``
(``{column: {"preprocess": [...], "metric": [...], "criterion": ...}}``).

The gold table of a task is ``<gold_dir>/<instance_id>.csv`` (UTF-8 with BOM). It is read as
the evaluator reads it (``pandas.read_csv`` with default settings, headers stripped, lower-cased
and without spaces, then restricted to ``required`` in that order), so pandas' missing-value
strings and numeric typing apply to the gold side exactly as they do to responses.

:func:`load_tasks` never stops at a bad task: a malformed line, a missing or unreadable gold
file, or a gold file lacking a required column is reported as a :class:`TaskProblem` (by
instance id, or by line number when the id is unknown) and skipped; the others load.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evals.table import norm_column


@dataclass
class GoldTable:
    """A gold table as text, cell for cell as written (used by strict mode).

    ``columns`` are normalised names; ``rows`` hold one string per column.
    """

    columns: list[str]
    rows: list[list[str]]

    @classmethod
    def from_csv(cls, path: str | Path) -> GoldTable:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            records = [r for r in csv.reader(handle) if r]
        if not records:
            raise ValueError(f"gold CSV {path} is empty")
        columns = [norm_column(c) for c in records[0]]
        width = len(columns)
        rows = [[*r[:width], *([""] * (width - len(r)))] for r in records[1:]]
        return cls(columns, rows)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> GoldTable:
        """From a DataFrame; missing values become empty text."""

        def text(value: Any) -> str:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return ""
            return str(value)

        columns = [norm_column(c) for c in frame.columns]
        rows = [[text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        return cls(columns, rows)

    def select(self, required: list[str]) -> GoldTable:
        """Only the ``required`` columns, in that order (``KeyError`` for a missing one)."""
        index = {c: i for i, c in reversed(list(enumerate(self.columns)))}
        picks = [index[c] for c in required]
        return GoldTable(list(required), [[row[i] for i in picks] for row in self.rows])


class ColumnEval(BaseModel):
    """How one column is scored."""

    model_config = ConfigDict(extra="allow")

    preprocess: list[str] = Field(default_factory=list)
    metric: list[str] = Field(default_factory=list)
    criterion: float | str | None = None


class Evaluation(BaseModel):
    """The ``evaluation`` field of a task."""

    model_config = ConfigDict(extra="allow")

    unique_columns: list[str]
    required: list[str]
    eval_pipeline: dict[str, ColumnEval]

    @property
    def judge_columns(self) -> list[str]:
        """Columns scored with ``llm_judge``."""
        return [c for c, item in self.eval_pipeline.items() if "llm_judge" in item.metric]


class Task(BaseModel):
    """One WideSearch task and, once loaded, its gold table."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="allow")

    instance_id: str
    query: str
    evaluation: Evaluation
    language: str = "en"
    gold: pd.DataFrame | None = Field(default=None, exclude=True, repr=False)
    gold_text: GoldTable | None = Field(default=None, exclude=True, repr=False)

    @field_validator("evaluation", mode="before")
    @classmethod
    def _parse_evaluation(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value)
        return value

    @field_validator("instance_id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError(f"unusable instance_id {value!r}")
        return value


class TaskProblem(BaseModel):
    """Why a task was skipped: ``where`` is the instance id, or ``line N`` when unknown."""

    where: str
    line: int | None = None
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def read_gold(path: str | Path, required: list[str] | None = None) -> pd.DataFrame:
    """Read a gold CSV as the evaluator does; with ``required``, keep those columns in order.

    Raises ``FileNotFoundError`` or ``ValueError`` (unreadable file, missing column).
    """
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # pandas raises several types for unreadable files
        raise ValueError(f"unreadable gold CSV {path}: {exc}") from exc
    frame.columns = [norm_column(str(c).strip()) for c in frame.columns]
    if required is None:
        return frame
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"gold CSV {path} lacks required column(s) {missing}")
    return frame[required]


def gold_path(gold_dir: str | Path, instance_id: str) -> Path:
    return Path(gold_dir) / f"{instance_id}.csv"


def load_task_line(line: str) -> Task:
    """Parse one JSONL line into a :class:`Task` (without its gold table)."""
    return Task.model_validate(json.loads(line))


def load_tasks(
    path: str | Path, gold_dir: str | Path | None
) -> tuple[list[Task], list[TaskProblem]]:
    """Load every task of a JSONL file and its gold table from ``gold_dir``.

    Returns ``(tasks, problems)``; a task with a problem is not in ``tasks``. With
    ``gold_dir=None`` no gold is read (``task.gold`` stays ``None``). A duplicated instance id
    is a problem for the second occurrence. A missing task file raises ``FileNotFoundError``.
    """
    tasks: list[Task] = []
    problems: list[TaskProblem] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8-sig") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                task = load_task_line(raw)
            except (json.JSONDecodeError, ValidationError, TypeError, ValueError) as exc:
                where = _guess_id(raw) or f"line {number}"
                problems.append(TaskProblem(where=where, line=number, message=_short(exc)))
                continue
            if task.instance_id in seen:
                problems.append(
                    TaskProblem(
                        where=task.instance_id, line=number, message="duplicate instance_id"
                    )
                )
                continue
            seen.add(task.instance_id)
            if gold_dir is not None:
                try:
                    source = gold_path(gold_dir, task.instance_id)
                    task.gold = read_gold(source, task.evaluation.required)
                    task.gold_text = GoldTable.from_csv(source).select(task.evaluation.required)
                except FileNotFoundError:
                    problems.append(
                        TaskProblem(
                            where=task.instance_id,
                            line=number,
                            message=f"gold file {gold_path(gold_dir, task.instance_id)} not found",
                        )
                    )
                    continue
                except (ValueError, KeyError) as exc:
                    problems.append(
                        TaskProblem(where=task.instance_id, line=number, message=str(exc))
                    )
                    continue
            tasks.append(task)
    return tasks, problems


def _guess_id(raw: str) -> str | None:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("instance_id"), str):
        return str(data["instance_id"]) or None
    return None


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or 'task'}: {err['msg']}"
            for err in exc.errors()[:3]
        ]
        return "invalid task: " + "; ".join(parts)
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON: {exc.msg} (column {exc.colno})"
    return f"invalid task: {exc}"
