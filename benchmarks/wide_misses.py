"""Explain where the table misses of a WideSearch eval come from, per task and per family.

    python benchmarks/wide_misses.py TASKS --gold GOLD --responses OUT/responses \
        [--manifest MANIFEST] [--runs-db runs.db] [--run LABEL] [--by-subfamily]

Reads the responses ``wideseek eval TASKS --gold GOLD --out OUT`` wrote
(``OUT/responses/<instance_id>_<run>.md``; by default the first run of each task, ``--run``
picks another) and compares each response table with its gold table. Misses are split into:

- **format miss**: no response file, no parsable markdown table (:func:`evals.read_table_strict`),
  a missing key column, or a header whose column set differs from ``required`` (the scorer
  scores such a task 0 unless its judge maps the headers; row and cell figures are still
  computed from the columns present);
- **enumeration misses**: gold keys absent from the response (``missing``);
- **membership errors**: response keys absent from the gold table (``extra``); an extra key
  close to a missing one (same text after NFKC/case-folding, or a near spelling) is counted in
  ``near_keys``, since such a pair is a key spelling miss rather than two separate errors;
- **extraction/format misses**: wrong cells of matched rows, per column, with up to 3 examples.

Rows are joined on ``evaluation.unique_columns`` normalised with :func:`evals.norm_str`. Cells
are preprocessed and scored with the official functions of :mod:`evals.metrics` following each
column's ``eval_pipeline`` (a cell is wrong when any of its metrics scores below 1); ``llm_judge``
columns are counted as "not scored". Cells are compared as written (strict table parsing), so
the official scorer's pandas conversions (``NA`` -> ``nan``, ``1983`` -> ``1983.0``) are not
reproduced here.

Families come from ``--manifest`` (a JSON list of ``{instance_id, family, subfamily}``; with
``--by-subfamily`` the subfamily is used), else from the instance id without its trailing number.
With ``--runs-db`` (wideseek's ``runs.db``, opened read-only) each task is matched to the latest
run whose question equals the task query (whitespace stripped) and gets its wall time (last
event time - first event time) and the ``reason``/``checked`` of its final ``enumerate`` event.

Prints rich tables (per task, per family, wrong cells by task and column, wrong cells per column
name over all tasks); the last line of stdout is one JSON object
``{"tasks": {...}, "families": {...}, "totals": {...}}``. Bad inputs exit with code 2.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evals import (
    TableError,
    Task,
    date_near,
    exact_match,
    extract_number,
    find_response_files,
    load_tasks,
    norm_column,
    norm_date,
    norm_str,
    number_near,
    read_table_strict,
    strict_norm_str,
    url_match,
)
from evals.tasks import GoldTable

EXAMPLES = 3
JUDGE = "llm_judge"
PREPROCESS: dict[str, Callable[[Any], Any]] = {
    "norm_str": norm_str,
    "extract_number": extract_number,
    "norm_date": norm_date,
}
METRICS: dict[str, Callable[[Any, Any, Any], float]] = {
    "exact_match": lambda r, t, _c: exact_match(str(r), str(t)),
    "number_near": lambda r, t, c: number_near(str(r), str(t), float(c or 0.0)),
    "date_near": lambda r, t, _c: date_near(r, t),
    "url_match": lambda r, t, _c: url_match(str(r), str(t)),
}
COUNTS = ("gold_rows", "response_rows", "matched", "missing", "extra", "wrong_cells")


class InputError(Exception):
    """A bad input: reported on one line, exit code 2."""


# --------------------------------------------------------------------------------------------
# per-task analysis


@dataclass
class ColumnMisses:
    wrong: int = 0
    checked: int = 0
    examples: list[dict[str, str]] = field(default_factory=list)


@dataclass
class TaskMisses:
    family: str
    subfamily: str | None = None
    run: str | None = None
    response_file: str | None = None
    format_miss: bool = False
    format_reason: str = ""
    gold_rows: int = 0
    response_rows: int = 0
    malformed_rows: int = 0
    duplicate_rows: int = 0
    matched: int = 0
    missing: int = 0
    extra: int = 0
    near_keys: int = 0
    missing_keys: list[str] = field(default_factory=list)
    extra_keys: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    wrong_cells: int = 0
    cells_checked: int = 0
    not_scored: int = 0
    columns: dict[str, ColumnMisses] = field(default_factory=dict)
    timing: dict[str, Any] | None = None


Row = dict[str, str]
Key = tuple[str, ...]


def key_of(row: Row, unique: Sequence[str]) -> Key:
    return tuple(norm_str(row.get(c, "")) for c in unique)


def key_text(row: Row, unique: Sequence[str]) -> str:
    return " / ".join(row.get(c, "") for c in unique)


def keyed(rows: Iterable[Row], unique: Sequence[str]) -> tuple[dict[Key, Row], int]:
    """Rows by normalised key (first kept) and the number of duplicates dropped."""
    out: dict[Key, Row] = {}
    duplicates = 0
    for row in rows:
        key = key_of(row, unique)
        if key in out:
            duplicates += 1
        else:
            out[key] = row
    return out, duplicates


def preprocess(value: str, names: Sequence[str]) -> Any:
    out: Any = value
    for name in names:
        out = PREPROCESS[name](out)
    return out


def cell_ok(task: Task, column: str, got: str, want: str) -> bool | None:
    """Whether the response cell passes every metric of its column; ``None``: not scored."""
    item = task.evaluation.eval_pipeline.get(column)
    if item is None:
        return None
    metrics = [m for m in item.metric if m != JUDGE]
    if not metrics or any(m not in METRICS for m in metrics):
        return None
    if any(p not in PREPROCESS for p in item.preprocess):
        return None
    r, t = preprocess(got, item.preprocess), preprocess(want, item.preprocess)
    for name in metrics:
        try:
            if METRICS[name](r, t, item.criterion) < 1.0:
                return False
        except ValueError:  # url_match raises on an invalid host; the scorer scores 0
            return False
    return True


def compare_cells(
    task: Task, result: TaskMisses, pairs: list[tuple[Row, Row]], columns: Sequence[str]
) -> None:
    """Fill the per-column wrong-cell counts of matched (gold, response) row pairs."""
    unique = task.evaluation.unique_columns
    for column in columns:
        if column in unique:
            continue
        stats = ColumnMisses()
        for gold_row, resp_row in pairs:
            verdict = cell_ok(task, column, resp_row[column], gold_row[column])
            if verdict is None:
                result.not_scored += 1
                continue
            stats.checked += 1
            if not verdict:
                stats.wrong += 1
                if len(stats.examples) < EXAMPLES:
                    stats.examples.append(
                        {
                            "key": key_text(gold_row, unique),
                            "response": resp_row[column],
                            "gold": gold_row[column],
                        }
                    )
        if stats.checked:
            result.columns[column] = stats
            result.wrong_cells += stats.wrong
            result.cells_checked += stats.checked


def near_key_pairs(missing: Sequence[str], extra: Sequence[str]) -> int:
    """Extra keys that look like a misspelt missing key (one pairing per missing key)."""
    pool = {strict_norm_str(m): m for m in missing}
    found = 0
    for key in extra:
        norm = strict_norm_str(key)
        match = norm if norm in pool else None
        if match is None:
            close = difflib.get_close_matches(norm, list(pool), n=1, cutoff=0.85)
            match = close[0] if close else None
        if match is not None:
            found += 1
            del pool[match]
    return found


def header_problems(task: Task, columns: Sequence[str], result: TaskMisses) -> None:
    required = task.evaluation.required
    result.missing_columns = [c for c in required if c not in columns]
    result.extra_columns = [c for c in dict.fromkeys(columns) if c not in required]
    if result.missing_columns or result.extra_columns:
        result.format_miss = True
        result.format_reason = (
            f"header differs from required (missing {result.missing_columns}, "
            f"extra {result.extra_columns})"
        )


def analyse(task: Task, gold: GoldTable, response: str | None, result: TaskMisses) -> None:
    """Compare one response with its gold table, filling ``result``."""
    unique = list(task.evaluation.unique_columns)
    gold_rows, _ = keyed((dict(zip(gold.columns, r, strict=True)) for r in gold.rows), unique)
    result.gold_rows = len(gold_rows)
    result.missing = len(gold_rows)
    if response is None:
        result.format_miss, result.format_reason = True, "no response file"
        return
    try:
        table = read_table_strict(response)
    except TableError as exc:
        result.format_miss, result.format_reason = True, str(exc)
        return
    columns = [norm_column(c) for c in table.columns]
    header_problems(task, columns, result)
    lost_keys = [c for c in unique if c not in columns]
    if lost_keys:
        result.format_reason = f"key column(s) {lost_keys} missing from the header"
        result.response_rows = len(table.rows)
        return
    index = {c: i for i, c in reversed(list(enumerate(columns)))}
    rows = [{c: r[index[c]] for c in index} for r in table.rows]
    resp_rows, result.duplicate_rows = keyed(rows, unique)
    result.malformed_rows = len(table.malformed)
    result.response_rows = len(resp_rows)
    matched = [k for k in resp_rows if k in gold_rows]
    missing = [key_text(gold_rows[k], unique) for k in gold_rows if k not in resp_rows]
    extra = [key_text(resp_rows[k], unique) for k in resp_rows if k not in gold_rows]
    result.matched, result.missing, result.extra = len(matched), len(missing), len(extra)
    result.missing_keys, result.extra_keys = missing[:EXAMPLES], extra[:EXAMPLES]
    result.near_keys = near_key_pairs(missing, extra)
    present = [c for c in task.evaluation.required if c in index]
    compare_cells(task, result, [(gold_rows[k], resp_rows[k]) for k in matched], present)


# --------------------------------------------------------------------------------------------
# inputs


def family_of(instance_id: str) -> str:
    return re.sub(r"[_-]?\d+$", "", instance_id) or instance_id


def read_manifest(path: Path) -> dict[str, tuple[str, str | None]]:
    """``{instance_id: (family, subfamily)}`` from a manifest JSON list."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise InputError(f"manifest {path} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"manifest {path} unreadable: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"manifest {path} is malformed JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    if not isinstance(data, list):
        raise InputError(f"manifest {path} is not a JSON list")
    out: dict[str, tuple[str, str | None]] = {}
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("instance_id"), str):
            raise InputError(f"manifest {path} entry {number} has no instance_id")
        iid = item["instance_id"]
        subfamily = item.get("subfamily")
        family = item.get("family") or subfamily or family_of(iid)
        out[iid] = (str(family), None if subfamily is None else str(subfamily))
    return out


def read_tasks(path: Path) -> list[Task]:
    try:
        tasks, problems = load_tasks(path, None)
    except FileNotFoundError as exc:
        raise InputError(f"tasks file {path} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"tasks file {path} unreadable: {exc}") from exc
    if not tasks:
        first = f": {problems[0]}" if problems else ""
        raise InputError(f"no usable task in {path}{first}")
    for problem in problems:
        print(f"warning: skipped task {problem}", file=sys.stderr)
    return tasks


def read_gold_table(task: Task, gold_dir: Path) -> GoldTable | None:
    path = gold_dir / f"{task.instance_id}.csv"
    try:
        return GoldTable.from_csv(path).select(list(task.evaluation.required))
    except FileNotFoundError:
        print(f"warning: {task.instance_id}: gold file {path} not found", file=sys.stderr)
    except (KeyError, ValueError, OSError, UnicodeDecodeError) as exc:
        print(f"warning: {task.instance_id}: unusable gold {path}: {exc}", file=sys.stderr)
    return None


def pick_response(files: dict[str, Path], run: str | None) -> tuple[str | None, Path | None]:
    if run is not None:
        return (run, files[run]) if run in files else (run, None)
    if not files:
        return None, None
    label = min(files, key=lambda lb: (0, 0) if lb == "main" else (1, int(lb)))
    return label, files[label]


# --------------------------------------------------------------------------------------------
# runs.db timings


def open_runs_db(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise InputError(f"runs database {path} not found")
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise InputError(f"runs database {path} unreadable: {exc}") from exc
    if not {"runs", "events"} <= tables:
        raise InputError(f"runs database {path} lacks the runs/events tables")
    return db


def latest_runs(db: sqlite3.Connection) -> dict[str, tuple[str, str, int]]:
    """``{stripped question: (run_id, status, runs with that question)}``, latest run kept."""
    out: dict[str, tuple[str, str, int]] = {}
    rows = db.execute(
        "SELECT run_id, status, question FROM runs ORDER BY COALESCE(started_at, 0), rowid"
    )
    for run_id, status, question in rows:
        q = (question or "").strip()
        seen = out[q][2] if q in out else 0
        out[q] = (str(run_id), str(status), seen + 1)
    return out


def run_timing(db: sqlite3.Connection, run_id: str, status: str, count: int) -> dict[str, Any]:
    first, last, events = db.execute(
        "SELECT MIN(time), MAX(time), COUNT(*) FROM events WHERE run_id = ?", (run_id,)
    ).fetchone()
    timing: dict[str, Any] = {
        "run_id": run_id,
        "status": status,
        "db_runs": count,
        "events": events,
        "wall_s": None if first is None else round(last - first, 2),
        "enum_reason": None,
        "enum_checked": None,
        "enum_rows": None,
    }
    datas = db.execute(
        "SELECT data FROM events WHERE run_id = ? AND type = 'enumerate' ORDER BY seq", (run_id,)
    )
    for (raw,) in datas:
        try:
            data = json.loads(raw or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("done") is True:
            timing["enum_reason"] = data.get("reason")
            timing["enum_checked"] = data.get("checked")
            timing["enum_rows"] = data.get("rows")
    return timing


def add_timings(db_path: Path, tasks: Sequence[Task], results: dict[str, TaskMisses]) -> None:
    db = open_runs_db(db_path)
    try:
        runs = latest_runs(db)
        for task in tasks:
            found = runs.get(task.query.strip())
            if found is not None and task.instance_id in results:
                results[task.instance_id].timing = run_timing(db, *found)
    except sqlite3.Error as exc:
        raise InputError(f"runs database {db_path} unreadable: {exc}") from exc
    finally:
        db.close()


# --------------------------------------------------------------------------------------------
# summaries


def summarise(results: Iterable[TaskMisses]) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    out.update(tasks=0, format_misses=0, no_response=0, cells_checked=0, not_scored=0)
    out["near_keys"] = 0
    for r in results:
        out["tasks"] += 1
        out["format_misses"] += r.format_miss
        out["no_response"] += r.response_file is None
        for name in (*COUNTS, "cells_checked", "not_scored", "near_keys"):
            out[name] += getattr(r, name)
    out["row_recall"] = round(out["matched"] / out["gold_rows"], 4) if out["gold_rows"] else 0.0
    return out


def by_family(results: dict[str, TaskMisses]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[TaskMisses]] = {}
    for r in results.values():
        groups.setdefault(r.family, []).append(r)
    return {name: summarise(group) for name, group in sorted(groups.items())}


def by_column(results: dict[str, TaskMisses]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for iid, r in results.items():
        for column, stats in r.columns.items():
            entry = out.setdefault(column, {"wrong": 0, "checked": 0, "tasks": [], "examples": []})
            entry["wrong"] += stats.wrong
            entry["checked"] += stats.checked
            if stats.wrong:
                entry["tasks"].append(iid)
            for example in stats.examples:
                if len(entry["examples"]) < EXAMPLES:
                    entry["examples"].append({"task": iid, **example})
    return dict(sorted(out.items(), key=lambda kv: (-kv[1]["wrong"], kv[0])))


# --------------------------------------------------------------------------------------------
# rendering


def ratio(wrong: int, checked: int) -> str:
    return f"{wrong}/{checked}" if checked else "-"


def examples_text(examples: Sequence[dict[str, str]]) -> Text:
    parts = [
        f"{e.get('task', '') + ': ' if 'task' in e else ''}{e['key']}: "
        f"{e['response']!r} vs {e['gold']!r}"
        for e in examples
    ]
    return Text("\n".join(parts))


def task_table(results: dict[str, TaskMisses], timings: bool) -> Table:
    table = Table(title="Misses per task", show_lines=False)
    for name in ("task", "family", "gold", "resp", "match", "miss", "extra", "≈key"):
        table.add_column(name, justify="left" if name in ("task", "family") else "right")
    table.add_column("wrong cells", justify="right")
    table.add_column("format")
    if timings:
        for name in ("wall s", "enum checked", "enum reason"):
            table.add_column(name, justify="right" if name != "enum reason" else "left")
    for iid, r in results.items():
        cells = [iid, r.family, r.gold_rows, r.response_rows, r.matched, r.missing, r.extra]
        cells += [r.near_keys, ratio(r.wrong_cells, r.cells_checked)]
        row = [Text(str(c)) for c in cells]
        row.append(Text(r.format_reason if r.format_miss else "", style="red"))
        if timings:
            t = r.timing or {}
            row += [
                Text(str(t.get(k, "")) if t.get(k) is not None else "-")
                for k in ("wall_s", "enum_checked", "enum_reason")
            ]
        table.add_row(*row)
    return table


def family_table(families: dict[str, dict[str, Any]], totals: dict[str, Any]) -> Table:
    table = Table(title="Misses per family")
    names = (
        "family",
        "tasks",
        "no resp",
        "format",
        "gold",
        "resp",
        "match",
        "miss",
        "extra",
        "≈key",
    )
    for name in names:
        table.add_column(name, justify="left" if name == "family" else "right")
    table.add_column("wrong cells", justify="right")
    table.add_column("row recall", justify="right")

    def add(name: str, s: dict[str, Any], **style: Any) -> None:
        cells = [
            name,
            s["tasks"],
            s["no_response"],
            s["format_misses"],
            s["gold_rows"],
            s["response_rows"],
        ]
        cells += [s["matched"], s["missing"], s["extra"], s["near_keys"]]
        cells += [ratio(s["wrong_cells"], s["cells_checked"]), f"{s['row_recall']:.2f}"]
        table.add_row(*(Text(str(c)) for c in cells), **style)

    for name, summary in families.items():
        add(name, summary)
    add("total", totals, style="bold", end_section=True)
    return table


def detail_table(results: dict[str, TaskMisses]) -> Table | None:
    table = Table(title="Wrong cells and row misses by task")
    for name in ("task", "what", "count", "examples (response vs gold)"):
        table.add_column(name, justify="right" if name == "count" else "left")
    for iid, r in results.items():
        if r.missing and not (r.format_miss and r.response_rows == 0):
            table.add_row(
                Text(iid), "missing rows", str(r.missing), Text(", ".join(r.missing_keys))
            )
        if r.extra:
            table.add_row(Text(iid), "extra rows", str(r.extra), Text(", ".join(r.extra_keys)))
        for column, stats in r.columns.items():
            if stats.wrong:
                table.add_row(
                    Text(iid),
                    Text(column),
                    ratio(stats.wrong, stats.checked),
                    examples_text(stats.examples),
                )
    return table if table.row_count else None


def column_table(columns: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="Wrong cells per column over all tasks")
    for name in ("column", "wrong/checked", "tasks", "examples (response vs gold)"):
        table.add_column(name, justify="right" if name in ("wrong/checked", "tasks") else "left")
    for column, entry in columns.items():
        table.add_row(
            Text(column),
            ratio(entry["wrong"], entry["checked"]),
            str(len(entry["tasks"])),
            examples_text(entry["examples"]),
        )
    return table


def to_json(r: TaskMisses) -> dict[str, Any]:
    return asdict(r)


# --------------------------------------------------------------------------------------------
# main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", type=Path, help="WideSearch-format tasks.jsonl")
    parser.add_argument("--gold", type=Path, required=True, help="dir of <instance_id>.csv")
    parser.add_argument("--responses", type=Path, required=True, help="dir of <id>_<run>.md")
    parser.add_argument("--manifest", type=Path, help="JSON list of {instance_id, family, ...}")
    parser.add_argument("--by-subfamily", action="store_true", help="group by manifest subfamily")
    parser.add_argument("--runs-db", type=Path, help="wideseek runs.db, for timings")
    parser.add_argument("--run", help="run label to read (default: the first run of each task)")
    return parser.parse_args(argv)


def collect(args: argparse.Namespace) -> dict[str, TaskMisses]:
    for label, directory in (("gold", args.gold), ("responses", args.responses)):
        if not directory.is_dir():
            raise InputError(f"{label} directory {directory} not found")
    tasks = read_tasks(args.tasks)
    manifest = read_manifest(args.manifest) if args.manifest else {}
    files = find_response_files(args.responses, [t.instance_id for t in tasks])
    results: dict[str, TaskMisses] = {}
    for task in tasks:
        gold = read_gold_table(task, args.gold)
        if gold is None:
            continue
        family, subfamily = manifest.get(task.instance_id, (family_of(task.instance_id), None))
        if args.by_subfamily and subfamily:
            family = subfamily
        result = TaskMisses(family=family, subfamily=subfamily)
        result.run, path = pick_response(files[task.instance_id], args.run)
        result.response_file = None if path is None else str(path)
        text = None if path is None else path.read_text(encoding="utf-8", errors="replace")
        analyse(task, gold, text, result)
        results[task.instance_id] = result
    if not results:
        raise InputError("no task has a usable gold table")
    if args.runs_db:
        add_timings(args.runs_db, tasks, results)
    return results


def report(results: dict[str, TaskMisses], timings: bool) -> dict[str, Any]:
    width = max(100, shutil.get_terminal_size(fallback=(160, 24)).columns)
    console = Console(width=width, highlight=False)
    families, totals, columns = by_family(results), summarise(results.values()), by_column(results)
    console.print(task_table(results, timings))
    console.print(family_table(families, totals))
    detail = detail_table(results)
    if detail is not None:
        console.print(detail)
    console.print(column_table(columns))
    return {
        "tasks": {iid: to_json(r) for iid, r in results.items()},
        "families": families,
        "columns": columns,
        "totals": totals,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        results = collect(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = report(results, timings=args.runs_db is not None)
    sys.stdout.flush()
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
