"""Batch runs: the agent on every task (x N runs) with bounded concurrency, resumable.

Each finished job is written at once: the response to `<out>/responses/<id>_<run>.md`
(atomically: temp file + rename) and one line to `<out>/runs.jsonl`. A killed batch restarted
with `resume=True` skips every job whose response file exists, so finished work is never rerun
or lost. Failed jobs (model errors, timeouts) are recorded with their reason and score 0; on
resume they are tried again.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evals.tasks import Task


class Answerer(Protocol):
    """What the runner needs from an agent: answer one query, report what it cost."""

    def __call__(self, query: str) -> Awaitable[JobOutput]: ...


@dataclass
class JobOutput:
    response: str
    tool_calls: int = 0
    model_calls: int = 0
    tokens: int = 0
    stop_reason: str = ""
    run_id: str = ""


@dataclass
class JobRecord:
    instance_id: str
    run: int
    status: str  # "ok" | "failed" | "timeout"
    wall_s: float
    error: str = ""
    tool_calls: int = 0
    model_calls: int = 0
    tokens: int = 0
    stop_reason: str = ""
    run_id: str = ""
    finished_at: float = field(default_factory=time.time)


@dataclass
class BatchProgress:
    total: int
    skipped: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0


def response_path(out_dir: Path, instance_id: str, run: int) -> Path:
    return out_dir / "responses" / f"{instance_id}_{run}.md"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_records(out_dir: Path) -> list[JobRecord]:
    """The latest record per (task, run) from `runs.jsonl` (a torn last line is ignored)."""
    path = out_dir / "runs.jsonl"
    latest: dict[tuple[str, int], JobRecord] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = JobRecord(**json.loads(line))
        except (json.JSONDecodeError, TypeError):
            continue
        latest[(record.instance_id, record.run)] = record
    return list(latest.values())


class BatchRunner:
    def __init__(
        self,
        answer: Answerer,
        out_dir: Path,
        *,
        runs: int = 1,
        concurrency: int = 1,
        task_timeout: float = 1800.0,
        resume: bool = False,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> None:
        if runs < 1 or concurrency < 1:
            raise ValueError("runs and concurrency must be at least 1")
        self.answer = answer
        self.out_dir = Path(out_dir)
        self.runs = runs
        self.concurrency = concurrency
        self.task_timeout = task_timeout
        self.resume = resume
        self.on_progress = on_progress
        self._log_lock = asyncio.Lock()

    def _pending(self, tasks: Sequence[Task]) -> tuple[list[tuple[Task, int]], int]:
        jobs = [(t, r) for t in tasks for r in range(1, self.runs + 1)]
        if not self.resume:
            existing = [
                p for t, r in jobs if (p := response_path(self.out_dir, t.instance_id, r)).exists()
            ]
            if existing:
                raise FileExistsError(
                    f"{self.out_dir} already holds {len(existing)} responses; use --resume to "
                    "continue that batch or choose another --out"
                )
            return jobs, 0
        pending = [
            (t, r) for t, r in jobs if not response_path(self.out_dir, t.instance_id, r).exists()
        ]
        return pending, len(jobs) - len(pending)

    async def _log(self, record: JobRecord) -> None:
        async with self._log_lock:
            with (self.out_dir / "runs.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(record)) + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    async def run(self, tasks: Sequence[Task]) -> list[JobRecord]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        pending, skipped = self._pending(tasks)
        progress = BatchProgress(total=len(pending) + skipped, skipped=skipped)
        self._emit(progress)
        semaphore = asyncio.Semaphore(self.concurrency)
        records: list[JobRecord] = []

        async def job(task: Task, run: int) -> None:
            async with semaphore:
                progress.running += 1
                self._emit(progress)
                started = time.perf_counter()
                try:
                    output = await asyncio.wait_for(self.answer(task.query), self.task_timeout)
                except TimeoutError:
                    record = JobRecord(
                        task.instance_id,
                        run,
                        "timeout",
                        time.perf_counter() - started,
                        error=f"no answer within {self.task_timeout:.0f} s",
                    )
                except Exception as error:  # a failed task must not end the batch
                    record = JobRecord(
                        task.instance_id,
                        run,
                        "failed",
                        time.perf_counter() - started,
                        error=f"{type(error).__name__}: {error}"[:500],
                    )
                else:
                    _write_atomic(
                        response_path(self.out_dir, task.instance_id, run), output.response
                    )
                    record = JobRecord(
                        task.instance_id, run, "ok", time.perf_counter() - started,
                        tool_calls=output.tool_calls, model_calls=output.model_calls,
                        tokens=output.tokens, stop_reason=output.stop_reason,
                        run_id=output.run_id,
                    )  # fmt: skip
                await self._log(record)
                records.append(record)
                progress.running -= 1
                progress.done += 1
                progress.failed += record.status != "ok"
                self._emit(progress)

        await asyncio.gather(*(job(t, r) for t, r in pending))
        return records

    def _emit(self, progress: BatchProgress) -> None:
        if self.on_progress:
            self.on_progress(progress)


def researcher_answerer(researcher: Any) -> Answerer:
    """Adapt `agent.Researcher` to the runner."""

    async def answer(query: str) -> JobOutput:
        result = await researcher.arun(query)
        return JobOutput(
            response=result.answer,
            tool_calls=result.usage.tool_calls,
            model_calls=result.usage.model_calls,
            tokens=result.usage.total_tokens,
            stop_reason=result.stop_reason,
            run_id=result.run_id,
        )

    return answer
