"""The batch runner: bounded concurrency, per-job records, failures, timeouts, resume, reports."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from evals import load_tasks, render_markdown_table, score_responses_dir
from evals.report import write_reports
from evals.runner import BatchRunner, JobOutput, read_records, response_path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "bench" / "dev"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is not present")


@pytest.fixture(scope="module")
def tasks() -> list:
    loaded, problems = load_tasks(SHARED / "tasks.jsonl", SHARED / "gold")
    assert not problems
    return loaded[:4]


def oracle(tasks: list, delay: float = 0.0, fail: set[str] = frozenset(), hang: set[str] = ()):
    """A stand-in agent that answers with the gold table (to test the runner, not the agent)."""
    by_query = {t.query: t for t in tasks}
    calls: list[str] = []
    running = {"now": 0, "max": 0}

    async def answer(query: str) -> JobOutput:
        task = by_query[query]
        calls.append(task.instance_id)
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        try:
            await asyncio.sleep(delay)
            if task.instance_id in fail:
                raise RuntimeError("model endpoint went away")
            if task.instance_id in hang:
                await asyncio.sleep(60)
            g = task.gold_text
            return JobOutput(render_markdown_table(g.columns, g.rows), tool_calls=2, tokens=100)
        finally:
            running["now"] -= 1

    return answer, calls, running


async def test_runs_write_responses_and_records(tmp_path: Path, tasks: list) -> None:
    answer, _, running = oracle(tasks, delay=0.05)
    runner = BatchRunner(answer, tmp_path, runs=2, concurrency=3)
    records = await runner.run(tasks)
    assert len(records) == 8 and all(r.status == "ok" for r in records)
    assert running["max"] == 3  # bounded concurrency
    for task in tasks:
        for run in (1, 2):
            assert response_path(tmp_path, task.instance_id, run).exists()
    assert len(read_records(tmp_path)) == 8
    report = score_responses_dir(tasks, SHARED / "gold", tmp_path / "responses", runs=2)
    assert report.overall()["success"]["avg_n"] == 1.0
    overall = write_reports(tmp_path, tasks, report, records)
    assert overall["pass_at_n"] == 1.0
    assert (tmp_path / "item_f1.png").stat().st_size > 1000
    summary = (tmp_path / "summary.md").read_text()
    assert "| all | 4 | 100.0 | 100.0 |" in summary
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and rows[0]["tool_calls"] == 2


async def test_failures_and_timeouts_are_recorded_and_score_zero(
    tmp_path: Path, tasks: list
) -> None:
    bad, slow = tasks[0].instance_id, tasks[1].instance_id
    answer, _, _ = oracle(tasks, fail={bad}, hang={slow})
    runner = BatchRunner(answer, tmp_path, concurrency=4, task_timeout=0.5)
    records = {r.instance_id: r for r in await runner.run(tasks)}
    assert records[bad].status == "failed" and "went away" in records[bad].error
    assert records[slow].status == "timeout"
    report = score_responses_dir(tasks, SHARED / "gold", tmp_path / "responses")
    scores = {k: v[0] for k, v in report.scores.items()}
    assert scores[bad].item_f1 == 0 and "no response" in scores[bad].reason
    assert scores[tasks[2].instance_id].success == 1
    write_reports(tmp_path, tasks, report, list(records.values()))
    assert "Failed runs (2, scored 0)" in (tmp_path / "summary.md").read_text()


async def test_killed_batch_resumes_without_rerunning_finished_tasks(
    tmp_path: Path, tasks: list
) -> None:
    answer, calls, _ = oracle(tasks, delay=0.01)
    first = BatchRunner(answer, tmp_path, concurrency=1)
    batch = asyncio.create_task(first.run(tasks))
    while len(read_records(tmp_path)) < 2:
        await asyncio.sleep(0.005)
    batch.cancel()  # the batch is killed mid-way
    with pytest.raises(asyncio.CancelledError):
        await batch
    finished = {r.instance_id for r in read_records(tmp_path)}
    assert 2 <= len(finished) < len(tasks)
    with pytest.raises(FileExistsError, match="--resume"):
        await BatchRunner(answer, tmp_path).run(tasks)
    calls.clear()
    await BatchRunner(answer, tmp_path, resume=True).run(tasks)
    assert not set(calls) & finished  # finished tasks are not rerun
    assert {r.instance_id for r in read_records(tmp_path)} == {t.instance_id for t in tasks}
