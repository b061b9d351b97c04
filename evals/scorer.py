"""Score responses against WideSearch gold tables, one task or a directory of runs.

Official mode (default) follows ``evaluate_single_query`` of the WideSearch evaluator
(``src/evaluation/evaluation.py``) step by step, so its numbers are the published ones:

1. The response table is read as in :mod:`evals.table`; headers are normalised (strip,
   lower-case, no spaces). When they differ from ``required`` the judge may map them; still
   different, the task scores 0.
2. Every required column of both tables is turned into text (``astype(str)``): NaN reads
   ``"nan"``, a float column reads ``"1983.0"``.
3. Duplicate keys (``unique_columns``) are dropped, first kept, *before* any normalisation, so
   keys differing only in case, spaces or ``*`` survive as separate rows.
4. For key columns scored by ``exact_match`` or ``llm_judge`` the judge may map response key
   spellings onto gold keys (the deterministic judges map nothing).
5. Every column's ``preprocess`` runs on both sides, then the tables are inner-joined on the key
   (after preprocessing, so two response rows can join one gold row and recall can exceed 1;
   it is not clipped).
6. Key cells of a joined row score 1; every other cell is scored by each of its column's
   metrics (a column with two metrics counts two items); ``llm_judge`` columns go to the judge
   in one call per column.
7. Row score = min of its cells; TP_row and TP_item are sums over joined rows; precision divides
   by the predicted rows (x columns), recall by the gold rows (x columns); F1 is the harmonic
   mean, 0 when P + R <= 1e-9.
8. Success is 1 when all six values equal 1.0 exactly. (The evaluator also sets it to 1 when the
   sorted, preprocessed tables are identical, which can only happen when no key column is
   scored by ``exact_match``/``llm_judge``; that is reproduced.)
9. Any exception while reading or scoring (a ``|`` inside a cell, an empty fence, an invalid
   URL host, an unknown metric) scores the task all zeros, with the error as the reason.

Strict mode (``strict=True``) keeps the definitions and fixes the quirks: a markdown parser
that keeps cells as text (see :mod:`evals.table`), the strict preprocessors and metrics of
:mod:`evals.metrics`, keys preprocessed *before* duplicates are dropped (so recall <= 1),
malformed rows counted as wrong predicted rows instead of failing the task, and a reason for
every outcome instead of an exception.

Over N runs per task: for every metric its mean (``avg_n``, Avg@N), best (``max_n``, Max@N) and
worst (``min_n``, Min@N) over the runs, averaged over tasks; ``pass_at_n`` is ``max_n`` of
success (a task passes when any run succeeds), as in the evaluator's batching script.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
from pydantic import BaseModel, Field

from agent.llm.base import ChatModel
from evals.judge import Judge, resolve_judge
from evals.metrics import (
    JUDGE_METRIC,
    OFFICIAL_METRICS,
    OFFICIAL_PREPROCESS,
    STRICT_METRICS,
    STRICT_PREPROCESS,
    f1,
    metric_score,
    strict_norm_str,
)
from evals.table import TableError, norm_column, read_table_official, read_table_strict
from evals.tasks import GoldTable, Task, TaskProblem, gold_path, load_tasks, read_gold

METRIC_NAMES = (
    "success",
    "row_precision",
    "row_recall",
    "row_f1",
    "item_precision",
    "item_recall",
    "item_f1",
)


class TaskScore(BaseModel):
    """The score of one response to one task."""

    instance_id: str
    run: str | None = None
    success: float = 0.0
    row_precision: float = 0.0
    row_recall: float = 0.0
    row_f1: float = 0.0
    item_precision: float = 0.0
    item_recall: float = 0.0
    item_f1: float = 0.0
    reason: str = ""
    judge_fallback_used: bool = False
    gold_rows: int | None = None
    predicted_rows: int | None = None
    matched_rows: int | None = None

    def metrics(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in METRIC_NAMES}

    def to_json_dict(self) -> dict[str, Any]:
        """The per-task JSON shape: the seven metrics and the reason."""
        return {**self.metrics(), "reason": self.reason}


def _zero(task: Task, reason: str, **extra: Any) -> TaskScore:
    return TaskScore(instance_id=task.instance_id, reason=reason, **extra)


def _error_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if name in ("ParserError", "EmptyDataError"):
        return f"table could not be read ({name}: {text}); e.g. a '|' inside a cell or no rows"
    return f"evaluator error: {name}: {text}"


def _partial_reason(
    *,
    success: bool,
    gold_rows: int,
    predicted: int,
    matched: int,
    full_rows: float,
    item_tp: float,
    columns: int,
    malformed: int = 0,
) -> str:
    if success:
        return "all rows and cells match"
    parts = [
        f"{matched} of {gold_rows} gold rows matched by key ({predicted} predicted rows)",
        f"{full_rows:g} rows fully correct",
        f"{item_tp:g} of {gold_rows * columns} gold cells correct",
    ]
    if malformed:
        parts.append(f"{malformed} malformed rows")
    if gold_rows and matched > gold_rows:
        parts.append("duplicate keys joined one gold row more than once (recall > 1)")
    return "; ".join(parts)


def _missing_columns_reason(required: Sequence[str], got: Sequence[str]) -> str:
    missing = [c for c in required if c not in got]
    extra = [c for c in got if c not in required]
    bits = []
    if missing:
        bits.append(f"missing {missing}")
    if extra:
        bits.append(f"unexpected {extra}")
    return "columns do not match required: " + ", ".join(bits or [f"got {list(got)}"])


# --------------------------------------------------------------------------------------------
# official mode


async def _score_official(task: Task, gold: pd.DataFrame, response: str, judge: Judge) -> TaskScore:
    ev = task.evaluation
    required = list(ev.required)
    unique = list(ev.unique_columns)
    answer = gold.copy()
    answer.columns = [norm_column(c) for c in answer.columns]
    fallback_used = False
    try:
        try:
            resp = read_table_official(response)
        except TableError as exc:
            return _zero(task, str(exc), gold_rows=len(answer))
        resp.columns = [norm_column(c) for c in resp.columns]
        if set(required) != set(resp.columns):
            mapping = await judge.map_values([str(c) for c in resp.columns], required)
            if mapping:
                resp = resp.rename(columns=mapping)
        if set(required) != set(resp.columns):
            return _zero(
                task,
                _missing_columns_reason(required, [str(c) for c in resp.columns]),
                gold_rows=len(answer),
                predicted_rows=len(resp),
            )
        for col in required:
            answer[col] = answer[col].astype(str)
            resp[col] = resp[col].astype(str)
        resp = resp.drop_duplicates(subset=unique)
        answer = answer.drop_duplicates(subset=unique)

        mapped_keys = False
        for col in unique:
            item = ev.eval_pipeline.get(col)
            if item is None or not {"exact_match", JUDGE_METRIC} & set(item.metric):
                continue
            key_map = await judge.map_values(resp[col].tolist(), answer[col].tolist())
            resp[col + "_before_map"] = resp[col]
            resp[col] = resp[col].map(lambda value, m=key_map: m.get(value, value))
            mapped_keys = True

        for col, item in ev.eval_pipeline.items():
            for name in item.preprocess:
                func = OFFICIAL_PREPROCESS[name]
                resp[col] = resp[col].map(func)
                answer[col] = answer[col].map(func)

        identical = 0.0
        if not mapped_keys and answer.shape == resp.shape:
            gold_sorted = answer.sort_values(by=required).reset_index(drop=True)
            pred_sorted = resp.sort_values(by=required).reset_index(drop=True)
            identical = 1.0 if gold_sorted.equals(pred_sorted) else 0.0

        inner = pd.merge(answer, resp, on=unique, how="inner", suffixes=("_query", "_response"))
        n = len(inner)
        # keyed like the evaluator's score frame: a repeated (column, metric) overwrites
        score_columns: dict[str, list[float]] = {}
        for col in required:
            if col in unique:
                score_columns[f"{col}_exact_match"] = [1.0] * n
                continue
            item = ev.eval_pipeline[col]
            for name in item.metric:
                got = inner[col + "_response"].tolist()
                want = inner[col + "_query"].tolist()
                if name == JUDGE_METRIC:
                    criterion = None if item.criterion is None else str(item.criterion)
                    scores = await judge.judge_column(got, want, criterion)
                    fallback_used = fallback_used or judge.deterministic
                    if len(scores) != n:
                        scores = [0.0] * n
                else:
                    if name not in OFFICIAL_METRICS:
                        raise KeyError(f"unknown metric {name!r}")
                    scores = [
                        metric_score(name, r, t, item.criterion, strict=False)
                        for r, t in zip(got, want, strict=True)
                    ]
                score_columns[f"{col}_{name}"] = [float(s) for s in scores]

        row_scores = (
            [min(cells) for cells in zip(*score_columns.values(), strict=True)] if n else []
        )
        tp_row = float(sum(row_scores))
        tp_item = float(sum(sum(c) for c in score_columns.values()))
        pred_rows, gold_rows = len(resp), len(answer)
        width = len(required)
        row_p = tp_row / pred_rows if pred_rows > 0 else 0.0
        row_r = tp_row / gold_rows if gold_rows > 0 else 0.0
        item_p = tp_item / (pred_rows * width) if pred_rows * width > 0 else 0.0
        item_r = tp_item / (gold_rows * width) if gold_rows * width > 0 else 0.0
        row_f, item_f = f1(row_p, row_r), f1(item_p, item_r)
        perfect = item_p == item_r == item_f == 1.0 and row_p == row_r == row_f == 1.0
        success = 1.0 if perfect else identical
    except Exception as exc:  # the evaluator scores any failure 0
        return _zero(task, _error_reason(exc), judge_fallback_used=fallback_used)
    return TaskScore(
        instance_id=task.instance_id,
        success=success,
        row_precision=row_p,
        row_recall=row_r,
        row_f1=row_f,
        item_precision=item_p,
        item_recall=item_r,
        item_f1=item_f,
        reason=(
            ""
            if perfect or success != 1.0
            else "success by the evaluator's identical-table rule although P/R/F1 < 1; "
        )
        + _partial_reason(
            success=perfect,
            gold_rows=gold_rows,
            predicted=pred_rows,
            matched=n,
            full_rows=tp_row,
            item_tp=tp_item,
            columns=width,
        ),
        judge_fallback_used=fallback_used,
        gold_rows=gold_rows,
        predicted_rows=pred_rows,
        matched_rows=n,
    )


# --------------------------------------------------------------------------------------------
# strict mode


def _preprocess_strict(value: str, names: Sequence[str]) -> Any:
    out: Any = value
    for name in names:
        out = STRICT_PREPROCESS[name](out)
    return out


def _key_of(row: Mapping[str, Any], unique: Sequence[str]) -> tuple[str, ...]:
    return tuple(strict_norm_str(str(row[c])) for c in unique)


async def _score_strict(task: Task, gold: GoldTable, response: str, judge: Judge) -> TaskScore:
    ev = task.evaluation
    required = list(ev.required)
    unique = list(ev.unique_columns)
    fallback_used = False
    try:
        gold = gold.select(required)
    except KeyError as exc:
        return _zero(task, f"gold table lacks column {exc}")
    try:
        table = read_table_strict(response)
    except TableError as exc:
        return _zero(task, str(exc), gold_rows=len(gold.rows))
    columns = list(table.columns)
    if set(required) != set(columns):
        mapping = await judge.map_values(columns, required)
        columns = [mapping.get(c, c) for c in columns]
    if set(required) != set(columns) or len(set(columns)) != len(columns):
        reason = _missing_columns_reason(required, columns)
        if set(required) == set(columns):
            reason = f"duplicate columns in the response header: {columns}"
        return _zero(task, reason, gold_rows=len(gold.rows), predicted_rows=table.predicted_rows)
    for col in unique:
        if col not in required:
            return _zero(task, f"key column {col!r} is not a required column")
    missing_pipeline = [c for c in required if c not in unique and c not in ev.eval_pipeline]
    if missing_pipeline:
        return _zero(task, f"no eval_pipeline entry for column(s) {missing_pipeline}")
    unknown = sorted(
        {m for c in required if c in ev.eval_pipeline for m in ev.eval_pipeline[c].metric}
        - {*STRICT_METRICS, JUDGE_METRIC}
        | {p for item in ev.eval_pipeline.values() for p in item.preprocess}
        - set(STRICT_PREPROCESS)
    )
    if unknown:
        return _zero(task, f"unknown metric or preprocess {unknown}")

    pred_raw = [dict(zip(columns, row, strict=True)) for row in table.rows]
    gold_raw = [dict(zip(required, row, strict=True)) for row in gold.rows]
    gold_keys = sorted({tuple(r[c] for c in unique) for r in gold_raw})
    for i, col in enumerate(unique):
        item = ev.eval_pipeline.get(col)
        if item is None or not {"exact_match", JUDGE_METRIC} & set(item.metric):
            continue
        key_map = await judge.map_values(
            list(dict.fromkeys(r[col] for r in pred_raw)), [k[i] for k in gold_keys]
        )
        for row in pred_raw:
            row[col] = key_map.get(row[col], row[col])

    def prepared(rows: list[dict[str, str]]) -> dict[tuple[str, ...], dict[str, Any]]:
        out: dict[tuple[str, ...], dict[str, Any]] = {}
        for raw in rows:
            row = {
                c: _preprocess_strict(
                    raw[c], ev.eval_pipeline[c].preprocess if c in ev.eval_pipeline else []
                )
                for c in required
            }
            out.setdefault(_key_of(row, unique), row)  # duplicates after normalisation: first
        return out

    pred = prepared(pred_raw)
    gold_rows_map = prepared(gold_raw)
    pairs = [(gold_rows_map[k], row) for k, row in pred.items() if k in gold_rows_map]
    n = len(pairs)
    score_columns: list[list[float]] = []
    for col in required:
        if col in unique:
            score_columns.append([1.0] * n)
            continue
        item = ev.eval_pipeline[col]
        for name in item.metric:
            got = [p[col] for _, p in pairs]
            want = [g[col] for g, _ in pairs]
            if name == JUDGE_METRIC:
                criterion = None if item.criterion is None else str(item.criterion)
                scores = await judge.judge_column(
                    [str(v) for v in got], [str(v) for v in want], criterion
                )
                fallback_used = fallback_used or judge.deterministic
                if len(scores) != n:
                    scores = [0.0] * n
                scores = [min(1.0, max(0.0, float(s))) for s in scores]
            else:
                scores = [
                    metric_score(name, r, t, item.criterion, strict=True)
                    for r, t in zip(got, want, strict=True)
                ]
            score_columns.append(scores)
    row_scores = [min(cells) for cells in zip(*score_columns, strict=True)] if n else []
    tp_row = float(sum(row_scores))
    tp_item = float(sum(sum(c) for c in score_columns))
    pred_rows = len(pred) + len(table.malformed)
    gold_rows = len(gold_rows_map)
    width = len(required)
    row_p = tp_row / pred_rows if pred_rows else 0.0
    row_r = tp_row / gold_rows if gold_rows else 0.0
    item_p = tp_item / (pred_rows * width) if pred_rows * width else 0.0
    item_r = tp_item / (gold_rows * width) if gold_rows * width else 0.0
    row_f, item_f = f1(row_p, row_r), f1(item_p, item_r)
    success = all(abs(v - 1.0) < 1e-12 for v in (row_p, row_r, row_f, item_p, item_r, item_f))
    if pred_rows == 0:
        reason = "the table has no data rows"
    else:
        reason = _partial_reason(
            success=success,
            gold_rows=gold_rows,
            predicted=pred_rows,
            matched=n,
            full_rows=tp_row,
            item_tp=tp_item,
            columns=width,
            malformed=len(table.malformed),
        )
    return TaskScore(
        instance_id=task.instance_id,
        success=1.0 if success else 0.0,
        row_precision=row_p,
        row_recall=row_r,
        row_f1=row_f,
        item_precision=item_p,
        item_recall=item_r,
        item_f1=item_f,
        reason=reason,
        judge_fallback_used=fallback_used,
        gold_rows=gold_rows,
        predicted_rows=pred_rows,
        matched_rows=n,
    )


# --------------------------------------------------------------------------------------------
# public entry points

GoldLike: TypeAlias = pd.DataFrame | GoldTable


def _official_gold(task: Task, gold: GoldLike | None) -> pd.DataFrame:
    if gold is None:
        gold = task.gold
    if gold is None:
        raise ValueError(f"{task.instance_id}: no gold table given or loaded")
    if isinstance(gold, GoldTable):
        frame = pd.DataFrame(gold.rows, columns=gold.columns)
    else:
        frame = gold.copy()
        frame.columns = [norm_column(c) for c in frame.columns]
    missing = [c for c in task.evaluation.required if c not in frame.columns]
    if missing:
        raise ValueError(f"{task.instance_id}: gold table lacks required column(s) {missing}")
    return frame[list(task.evaluation.required)]


def _strict_gold(task: Task, gold: GoldLike | None) -> GoldTable:
    if gold is None:
        gold = task.gold_text if task.gold_text is not None else task.gold
    if gold is None:
        raise ValueError(f"{task.instance_id}: no gold table given or loaded")
    return gold if isinstance(gold, GoldTable) else GoldTable.from_frame(gold)


async def ascore_response(
    task: Task,
    gold: GoldLike | None,
    response_text: str,
    judge: Judge | ChatModel | None = None,
    *,
    strict: bool = False,
) -> TaskScore:
    """Score one response. ``gold=None`` uses the task's loaded gold table.

    Never raises on a bad response: an unreadable or missing table scores 0 with a reason. A
    missing gold table raises ``ValueError`` (that is a broken task, not a bad response).
    """
    resolved = resolve_judge(judge)
    text = response_text if isinstance(response_text, str) else str(response_text or "")
    if strict:
        strict_gold = _strict_gold(task, gold)
        try:
            return await _score_strict(task, strict_gold, text, resolved)
        except Exception as exc:  # a broken task definition (e.g. a non-numeric criterion)
            return _zero(task, _error_reason(exc))
    return await _score_official(task, _official_gold(task, gold), text, resolved)


def _run_sync(coro: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:  # called from async code: own loop
        return pool.submit(asyncio.run, coro).result()


def score_response(
    task: Task,
    gold: GoldLike | None,
    response_text: str,
    judge: Judge | ChatModel | None = None,
    *,
    strict: bool = False,
) -> TaskScore:
    """Synchronous :func:`ascore_response`."""
    result: TaskScore = _run_sync(ascore_response(task, gold, response_text, judge, strict=strict))
    return result


# --------------------------------------------------------------------------------------------
# many runs


class MetricSummary(BaseModel):
    avg_n: float = 0.0
    max_n: float = 0.0
    min_n: float = 0.0


def _summaries(values_per_task: Sequence[Sequence[float]]) -> MetricSummary:
    usable = [v for v in values_per_task if v]
    if not usable:
        return MetricSummary()
    count = len(usable)
    return MetricSummary(
        avg_n=sum(sum(v) / len(v) for v in usable) / count,
        max_n=sum(max(v) for v in usable) / count,
        min_n=sum(min(v) for v in usable) / count,
    )


class ScoreReport(BaseModel):
    """Scores of every task and run, the aggregates, and the tasks that could not load."""

    mode: str = "official"
    judge: str = "fallback"
    runs: int = 1
    scores: dict[str, list[TaskScore]] = Field(default_factory=dict)
    problems: list[TaskProblem] = Field(default_factory=list)

    def overall(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "judge": self.judge,
            "tasks": len(self.scores),
            "runs": self.runs,
        }
        for name in METRIC_NAMES:
            per_task = [[getattr(s, name) for s in runs] for runs in self.scores.values()]
            out[name] = _summaries(per_task).model_dump()
        out["pass_at_n"] = out["success"]["max_n"]
        out["avg_at_n"] = out["success"]["avg_n"]
        out["judge_fallback_tasks"] = sum(
            1 for runs in self.scores.values() if any(s.judge_fallback_used for s in runs)
        )
        out["problems"] = [str(p) for p in self.problems]
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """``{"overall": {...}, "tasks": {id: {metrics, reason}}}``; with several runs each
        task maps run labels to that shape."""
        tasks: dict[str, Any] = {}
        for instance_id, runs in self.scores.items():
            if self.runs == 1 and len(runs) == 1:
                tasks[instance_id] = runs[0].to_json_dict()
            else:
                tasks[instance_id] = {str(s.run): s.to_json_dict() for s in runs}
        return {"overall": self.overall(), "tasks": tasks}


def find_response_files(
    responses_dir: str | Path, instance_ids: Sequence[str]
) -> dict[str, dict[str, Path]]:
    """Map each instance id to ``{run label: file}`` for ``<id>.md`` (label ``main``) and
    ``<id>_<run>.md`` files. A stem that is itself a task id belongs to that task."""
    directory = Path(responses_dir)
    ids = set(instance_ids)
    found: dict[str, dict[str, Path]] = {i: {} for i in instance_ids}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.md")):
        stem = path.stem
        if stem in ids:
            found[stem]["main"] = path
            continue
        match = re.fullmatch(r"(.+)_(\d+)", stem)
        if match and match.group(1) in ids:
            found[match.group(1)][match.group(2)] = path
    return found


def _label_order(label: str) -> tuple[int, int, str]:
    return (0, 0, label) if label == "main" else (1, int(label), label)


async def ascore_responses_dir(
    tasks: Sequence[Task] | str | Path,
    gold_dir: str | Path | None,
    responses_dir: str | Path,
    judge: Judge | ChatModel | None = None,
    *,
    strict: bool = False,
    runs: int | None = None,
    concurrency: int = 4,
) -> ScoreReport:
    """Score every response file in ``responses_dir`` (see :func:`score_responses_dir`)."""
    problems: list[TaskProblem] = []
    if isinstance(tasks, str | Path):
        task_list, problems = load_tasks(tasks, gold_dir)
    else:
        task_list = list(tasks)
    resolved = resolve_judge(judge)
    files = find_response_files(responses_dir, [t.instance_id for t in task_list])
    labels = sorted({label for f in files.values() for label in f}, key=_label_order)
    wanted = max(runs or 0, len(labels), 1)
    extra = (str(i) for i in range(10_000) if str(i) not in labels)
    while len(labels) < wanted:
        labels.append(next(extra))
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(task: Task, label: str) -> TaskScore:
        path = files[task.instance_id].get(label)
        if path is None:
            name = f"{task.instance_id}.md" if label == "main" else f"{task.instance_id}_{label}.md"
            if len(labels) == 1:
                name = f"{task.instance_id}.md or {task.instance_id}_<run>.md"
            return TaskScore(instance_id=task.instance_id, reason=f"no response file ({name})")
        if task.gold is None and gold_dir is not None:
            source = gold_path(gold_dir, task.instance_id)
            try:
                task.gold = read_gold(source, task.evaluation.required)
                task.gold_text = GoldTable.from_csv(source).select(task.evaluation.required)
            except (OSError, ValueError, KeyError) as exc:
                return TaskScore(instance_id=task.instance_id, reason=f"gold table: {exc}")
        text = path.read_text(encoding="utf-8", errors="replace")
        async with semaphore:
            try:
                return await ascore_response(task, None, text, resolved, strict=strict)
            except ValueError as exc:
                return TaskScore(instance_id=task.instance_id, reason=str(exc))

    report = ScoreReport(
        mode="strict" if strict else "official",
        judge=resolved.name,
        runs=len(labels),
        problems=problems,
    )
    for task in task_list:
        results = await asyncio.gather(*(one(task, label) for label in labels))
        for label, score in zip(labels, results, strict=True):
            score.run = label
        report.scores[task.instance_id] = list(results)
    return report


def score_responses_dir(
    tasks: Sequence[Task] | str | Path,
    gold_dir: str | Path | None,
    responses_dir: str | Path,
    judge: Judge | ChatModel | None = None,
    *,
    strict: bool = False,
    runs: int | None = None,
) -> ScoreReport:
    """Score ``<instance_id>.md`` / ``<instance_id>_<run>.md`` files against the tasks.

    ``tasks`` is a task JSONL path (loaded with ``gold_dir``; its problems are reported) or
    loaded :class:`Task` objects (gold read from ``gold_dir`` when not loaded). A task without a
    response file for a run scores 0 with that reason. ``runs`` sets N when files are missing
    for every task. ``report.to_json_dict()`` is the ``wideseek score --json`` shape.
    """
    result: ScoreReport = _run_sync(
        ascore_responses_dir(tasks, gold_dir, responses_dir, judge, strict=strict, runs=runs)
    )
    return result
