"""Export from traces the agent really wrote: `agent.Researcher` on the scripted model (real
LangGraph, real run store), batch-evaluated with the real runner and scorer, then exported
with `--min-score` joined by run id; and a run with tool choice (a rejected call, its retry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from agent import Researcher, ScriptedChatModel, load_settings
from evals.report import write_reports
from evals.runner import BatchRunner, read_records, researcher_answerer
from evals.scorer import ascore_responses_dir
from evals.tasks import Task
from finetune import ExportOptions, export_runs
from retriever.tool_retriever import ToolRetriever
from tests.agent.fakes import Read, WordSearch
from tests.finetune.traces import PLAN, SATISFIED
from tools.base import Observation, Tool, ToolRegistry

PLAN_ALWAYS = {"search.plan": "always"}  # these tests script the planner's reply

EVALUATION = {
    "unique_columns": ["country"],
    "required": ["country", "capital"],
    "eval_pipeline": {
        "country": {"preprocess": ["norm_str"], "metric": ["exact_match"]},
        "capital": {"preprocess": ["norm_str"], "metric": ["exact_match"]},
    },
}
TABLE = "| country | capital |\n|---|---|\n| France | Paris |"


def researcher(tmp_path: Path, replies: list[Any], tools: list[Tool] | None = None,
               tool_retriever: ToolRetriever | None = None) -> Researcher:  # fmt: skip
    return Researcher(
        load_settings(**PLAN_ALWAYS),
        models=ScriptedChatModel(replies),
        tools=ToolRegistry([WordSearch(), Read(), *(tools or [])]),
        checkpoint_path=tmp_path / "ckpt.db",
        tool_retriever=tool_retriever,
    )


async def test_runs_scored_by_a_batch_eval_are_filtered_by_item_f1(tmp_path: Path) -> None:
    tasks = [
        Task(instance_id="good", query="Which is the capital of France? Give a table.",
             evaluation=EVALUATION),
        Task(instance_id="poor", query="Which city is the capital of France, as a table?",
             evaluation=EVALUATION),
    ]  # fmt: skip
    gold = tmp_path / "gold"
    gold.mkdir()
    for task in tasks:
        (gold / f"{task.instance_id}.csv").write_text("country,capital\nFrance,Paris\n")
    agent = researcher(tmp_path, [PLAN, SATISFIED, TABLE, PLAN, SATISFIED, "It is Paris [1]."])
    eval_dir = tmp_path / "eval"
    await BatchRunner(researcher_answerer(agent), eval_dir, concurrency=1).run(tasks)
    report = await ascore_responses_dir(tasks, gold, eval_dir / "responses")
    write_reports(eval_dir, tasks, report, read_records(eval_dir))
    scores = {i: s[0].item_f1 for i, s in report.scores.items()}
    assert scores["good"] == 1.0 and scores["poor"] == 0.0
    good_run = next(r.run_id for r in read_records(eval_dir) if r.instance_id == "good")

    store = agent.run_store.path
    stats = export_runs(
        tmp_path / "out",
        ExportOptions(store=store, eval_dirs=[eval_dir], min_score=0.5, val_share=0.0),
    )
    assert stats.runs_selected == 1 and stats.runs_skipped == {"item_f1 below 0.5": 1}
    out = [json.loads(line) for p in sorted((tmp_path / "out").glob("*.jsonl"))
           for line in p.read_text().splitlines()]  # fmt: skip
    assert {line["run_id"] for line in out} == {good_run}
    assert sorted(line["task"] for line in out) == ["answer", "planning", "reflection"]
    by_task = {line["task"]: line["messages"] for line in out}
    # exactly what the agent sent and what the model said
    calls = agent.run_store.model_calls(good_run)
    assert by_task["planning"][:2] == calls[0].messages
    assert json.loads(by_task["planning"][2]["content"]) == json.loads(calls[0].output)
    assert by_task["answer"][2]["content"] == TABLE
    assert "Which is the capital of France?" in by_task["reflection"][1]["content"]


class WeatherArgs(BaseModel):
    city: str
    units: str = "metric"


class WeatherLookup(Tool):
    name: ClassVar[str] = "weather_lookup"
    description: ClassVar[str] = "Current weather forecast for a city: temperature and sky"
    Args: ClassVar[type[BaseModel]] = WeatherArgs

    async def run(self, args: WeatherArgs) -> list[Observation]:
        text = f"Weather in {args.city}: sunny, 21 degrees."
        return [
            Observation(
                source_id=f"weather:{args.city}",
                url="https://example.org/w",
                title=f"Weather {args.city}",
                text=text,
                start=0,
                end=len(text),
            )
        ]


async def test_tool_choice_traces_keep_the_call_that_validated(tmp_path: Path) -> None:
    plan = {
        "task_kind": "lookup",
        "sub_goals": [{"goal": "Find the weather forecast in Paris",
                       "evidence_needed": "the temperature", "query": "weather forecast Paris"}],
        "columns": [],
    }  # fmt: skip
    bad = {"tool": "weather_lookup", "arguments": {"town": "Paris"}}
    good = {"tool": "weather_lookup", "arguments": {"city": "Paris"}}
    weather = WeatherLookup()
    registry_cards = [t.card() for t in ToolRegistry([WordSearch(), Read(), weather])]
    agent = researcher(
        tmp_path,
        [plan, bad, good, {**SATISFIED, "evidence": "Paris: sunny, 21 degrees [1]"},
         "Sunny and 21 degrees in Paris [1]."],
        [weather],
        ToolRetriever(registry_cards, None),
    )  # fmt: skip
    result = await agent.arun("What is the weather forecast in Paris?")
    assert [e.data["tool"] for e in result.events if e.type == "tool_call"] == ["weather_lookup"]
    stats = export_runs(tmp_path / "out", ExportOptions(store=agent.run_store.path, val_share=0.0))
    assert stats.invalid == {"rejected tool choice": 1}
    path = tmp_path / "out" / "tool_choice.train.jsonl"
    (choice,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert json.loads(choice["messages"][2]["content"]) == good
    assert len(choice["messages"]) == 3 and "weather_lookup" in choice["messages"][1]["content"]
    assert stats.tasks["tool_choice"].examples == 1 and stats.tasks["answer"].examples == 1
