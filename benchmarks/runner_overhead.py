"""Batch-runner overhead: 40 tasks through the real Researcher (LangGraph, SQLite checkpoints,
run store, BM25 search) with a role-aware scripted model that waits `--latency` seconds per
call, at concurrency 1 and 8. Prints wall times, per-task overhead and the speed-up ratio; the
last line is one JSON object.

    python benchmarks/runner_overhead.py [--tasks 40] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agent import Researcher, load_settings
from agent.llm.base import ChatModel, Completion, Message, Usage
from evals.runner import BatchRunner, researcher_answerer
from evals.tasks import load_tasks
from retriever.corpus_store import CorpusStore
from retriever.default_corpus import DEFAULT_CORPUS, default_corpus_documents

DEV = Path(__file__).resolve().parents[2] / "shared" / "bench" / "dev"


class RoleScripted(ChatModel):
    """Answers by role (recognised from the system prompt) after a fixed latency."""

    name = "role-scripted"

    def __init__(self, latency: float) -> None:
        self.latency = latency

    async def _generate(
        self,
        messages: Sequence[Message],
        *,
        json_schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        await asyncio.sleep(self.latency)
        system_prompt = messages[0].content
        question = messages[-1].content.splitlines()[0][:80]
        if "planner" in system_prompt:
            text = json.dumps(
                {
                    "task_kind": "lookup",
                    "columns": [],
                    "sub_goals": [
                        {"goal": question, "evidence_needed": "a passage", "query": question}
                    ],
                }
            )
        elif "reflection" in system_prompt:
            text = json.dumps(
                {
                    "evidence": "found it [1]",
                    "facts": [],
                    "missing": "",
                    "verdict": "satisfied",
                    "next_action": "next_goal",
                    "query": "",
                    "read": 0,
                }
            )
        else:
            text = "| a | b |\n|---|---|\n| x [1] | y |"
        return Completion(text, Usage(100, 20, 1, self.latency))

    async def stream(
        self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0
    ) -> AsyncIterator[str]:
        yield (
            await self._generate(
                messages, json_schema=None, max_tokens=max_tokens, temperature=temperature
            )
        ).text


async def batch(tasks: list[Any], concurrency: int, latency: float, data: Path) -> float:
    settings = load_settings(data_dir=str(data), corpora=[DEFAULT_CORPUS])
    researcher = Researcher(settings, models=RoleScripted(latency))
    out = Path(tempfile.mkdtemp(prefix=f"runner-c{concurrency}-"))
    runner = BatchRunner(researcher_answerer(researcher), out, concurrency=concurrency)
    started = time.perf_counter()
    records = await runner.run(tasks)
    wall = time.perf_counter() - started
    assert all(r.status == "ok" for r in records), [r.error for r in records if r.error]
    await researcher.aclose()
    return wall


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    tasks, _ = load_tasks(DEV / "tasks.jsonl", DEV / "gold")
    tasks = tasks[: args.tasks]
    data = Path(tempfile.mkdtemp(prefix="runner-bench-"))
    with CorpusStore(data / "corpus.db") as store:
        store.add_documents(DEFAULT_CORPUS, default_corpus_documents())
    calls_per_task = 3  # plan, reflect, write
    ideal = len(tasks) * calls_per_task * args.latency
    walls = {c: await batch(tasks, c, args.latency, data) for c in (1, 8)}
    table = Table("concurrency", "wall s", "model wait s (ideal)", "overhead per task ms")
    for c, wall in walls.items():
        model_wait = ideal / c
        table.add_row(
            str(c),
            f"{wall:.2f}",
            f"{model_wait:.2f}",
            f"{1000 * (wall - model_wait) / len(tasks):.1f}",
        )
    Console(stderr=True).print(table)
    print(json.dumps({
        "tasks": len(tasks), "latency_s": args.latency,
        "wall_s_c1": round(walls[1], 2), "wall_s_c8": round(walls[8], 2),
        "speedup_c8_over_c1": round(walls[1] / walls[8], 2),
        "overhead_ms_per_task_c1": round(1000 * (walls[1] - ideal) / len(tasks), 1),
    }))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
