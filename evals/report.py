"""Reports of a batch: `summary.md`, `results.jsonl` per task and run, a PNG of item F1.

Groups: language always; family when a `manifest.json` (a list of `{"instance_id", "family"}`)
lies beside the task file.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.runner import JobRecord
from evals.scorer import ScoreReport
from evals.tasks import Task


def load_families(tasks_path: Path) -> dict[str, str]:
    manifest = tasks_path.parent / "manifest.json"
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(entries, list):
        return {}
    return {
        str(e["instance_id"]): str(e["family"])
        for e in entries
        if isinstance(e, dict) and "instance_id" in e and "family" in e
    }


def result_rows(
    tasks: Sequence[Task], report: ScoreReport, records: Sequence[JobRecord]
) -> list[dict[str, Any]]:
    """One row per task and run: scores, and what the run cost when the runner produced it."""
    by_job = {(r.instance_id, str(r.run)): r for r in records}
    rows = []
    for task in tasks:
        for score in report.scores.get(task.instance_id, []):
            record = by_job.get((task.instance_id, str(score.run)))
            row: dict[str, Any] = {"instance_id": task.instance_id, "language": task.language}
            row.update(score.to_json_dict())
            row["run"] = score.run
            if record is not None:
                row.update(
                    status=record.status,
                    error=record.error,
                    wall_s=round(record.wall_s, 2),
                    tool_calls=record.tool_calls,
                    model_calls=record.model_calls,
                    tokens=record.tokens,
                    stop_reason=record.stop_reason,
                )
            rows.append(row)
    return rows


def _group_line(name: str, rows: list[dict[str, Any]]) -> str:
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_task[row["instance_id"]].append(row)

    def avg_n(key: str) -> float:
        return statistics.fmean(statistics.fmean(r[key] for r in rs) for rs in by_task.values())

    def max_n(key: str) -> float:
        return statistics.fmean(max(r[key] for r in rs) for rs in by_task.values())

    def mean(key: str) -> float:
        values = [r[key] for r in rows if key in r]
        return statistics.fmean(values) if values else 0.0

    return (
        f"| {name} | {len(by_task)} | {100 * avg_n('success'):.1f} | {100 * max_n('success'):.1f} "
        f"| {100 * avg_n('row_f1'):.1f} | {100 * max_n('row_f1'):.1f} "
        f"| {100 * avg_n('item_f1'):.1f} | {100 * max_n('item_f1'):.1f} "
        f"| {mean('tool_calls'):.1f} | {mean('tokens'):.0f} | {mean('wall_s'):.1f} |"
    )


def write_reports(
    out_dir: Path,
    tasks: Sequence[Task],
    report: ScoreReport,
    records: Sequence[JobRecord],
    families: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write summary.md, results.jsonl, item_f1.png; return the overall figures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = result_rows(tasks, report, records)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    overall = report.overall()
    header = (
        "| group | tasks | success Avg@N | success Pass@N | row F1 Avg@N | row F1 Max@N "
        "| item F1 Avg@N | item F1 Max@N | tool calls | tokens | wall s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        "# wideseek evaluation",
        "",
        f"Scoring mode: {report.mode}; judge: {report.judge}; runs per task: {report.runs}; "
        f"tasks: {len(report.scores)}. Percentages; tool calls, tokens and wall time are means "
        "per run.",
        "",
        header,
    ]
    if rows:
        lines.append(_group_line("all", rows))
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            groups[f"lang: {row['language']}"].append(row)
            if families and row["instance_id"] in families:
                groups[f"family: {families[row['instance_id']]}"].append(row)
        for name in sorted(groups):
            lines.append(_group_line(name, groups[name]))
    failed = [r for r in records if r.status != "ok"]
    if failed:
        lines += ["", f"## Failed runs ({len(failed)}, scored 0)", ""]
        lines += [f"- {r.instance_id} run {r.run}: {r.status}: {r.error}" for r in failed]
    if report.problems:
        lines += ["", "## Tasks skipped", ""] + [f"- {p}" for p in report.problems]
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _plot_item_f1(out_dir / "item_f1.png", rows)
    return overall


def _plot_item_f1(path: Path, rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_task: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        per_task[row["instance_id"]].append(row["item_f1"])
    values = sorted(statistics.fmean(v) for v in per_task.values())
    fig, (hist, bars) = plt.subplots(1, 2, figsize=(10, 3.6))
    hist.hist(values, bins=[i / 10 for i in range(11)], color="#3b7dd8", edgecolor="white")
    hist.set_xlabel("item F1 (mean over runs)")
    hist.set_ylabel("tasks")
    hist.set_title("Distribution of per-task item F1")
    bars.bar(range(len(values)), values, color="#3b7dd8")
    bars.set_ylim(0, 1)
    bars.set_xlabel("tasks, sorted")
    bars.set_title("Per-task item F1")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
