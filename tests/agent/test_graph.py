"""Control flow of the research graph on the scripted model (real LangGraph, real SQLite)."""

from __future__ import annotations

import asyncio
import datetime
import json
from pathlib import Path

import pytest

from agent import Researcher, ResearchError, ScriptedChatModel, load_settings
from agent.llm.base import ModelError
from tests.agent.fakes import HangsOnSecondCall, Read, Slow, WordSearch
from tools.base import ToolRegistry

PLAN_ALWAYS = {"search.plan": "always"}  # these tests script the planner's reply

PLAN = {
    "task_kind": "lookup",
    "sub_goals": [
        {
            "goal": "Find the capital of France",
            "evidence_needed": "a sentence naming it",
            "query": "capital France",
        }
    ],
    "columns": [],
}
SATISFIED = {
    "evidence": "Paris is the capital of France [1]",
    "facts": [],
    "missing": "",
    "verdict": "satisfied",
    "next_action": "next_goal",
    "query": "",
    "read": 0,
}


def make(
    tmp_path: Path, replies: list, **overrides
) -> tuple[Researcher, ScriptedChatModel, WordSearch]:
    model = ScriptedChatModel(replies)
    search = WordSearch()
    settings = load_settings(**PLAN_ALWAYS, **overrides)
    researcher = Researcher(
        settings,
        models=model,
        tools=ToolRegistry([search, Read()]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    return researcher, model, search


async def test_plan_goal_act_reflect_answer(tmp_path: Path) -> None:
    researcher, model, search = make(
        tmp_path, [PLAN, SATISFIED, "The capital of France is Paris [1]."]
    )
    result = await researcher.arun("What is the capital of France?")
    types = [e.type for e in result.events]
    assert types == ["plan", "goal", "tool_call", "observation", "reflection", "answer"]
    assert search.queries == ["capital France"]
    assert result.answer == "The capital of France is Paris [1]."
    assert result.citations[0].source_id in {"wiki:Paris", "wiki:France"}
    assert result.citations[0].url.startswith("https://example.org/")
    assert result.usage.model_calls == 3 and result.usage.tool_calls == 1
    assert result.stop_reason == "answered"
    # the reflection saw the goal and the documents, marked as data
    reflect_prompt = model.calls[1][1].content
    assert "Find the capital of France" in reflect_prompt and '<result n="1"' in reflect_prompt


async def test_partial_reflection_refines_query_then_reads(tmp_path: Path) -> None:
    partial = {
        **SATISFIED,
        "verdict": "partial",
        "next_action": "search",
        "query": "Paris capital city",
        "missing": "more detail",
    }
    read = {**SATISFIED, "verdict": "partial", "next_action": "read", "read": 1}
    researcher, _, search = make(
        tmp_path,
        [PLAN, partial, read, SATISFIED, "Paris [1]."],
        **{"budget.max_attempts_per_goal": 3},
    )
    result = await researcher.arun("What is the capital of France?")
    tools_used = [e.data["tool"] for e in result.events if e.type == "tool_call"]
    assert tools_used == ["search", "search", "read"]
    assert search.queries == ["capital France", "Paris capital city"]


async def test_repeated_query_is_not_rerun(tmp_path: Path) -> None:
    same = {**SATISFIED, "verdict": "partial", "next_action": "search", "query": "capital France"}
    researcher, _, search = make(tmp_path, [PLAN, same, "Paris [1]."])
    result = await researcher.arun("What is the capital of France?")
    assert search.queries == ["capital France"]  # loop guard: same query is not searched again
    assert result.answer == "Paris [1]."


async def test_step_budget_ends_with_best_answer(tmp_path: Path) -> None:
    again = {**SATISFIED, "verdict": "partial", "next_action": "search", "query": "Paris"}
    researcher, _, search = make(tmp_path, [PLAN, again, "Paris [1]."], **{"budget.max_steps": 1})
    result = await researcher.arun("What is the capital of France?")
    assert len(search.queries) == 1
    assert "step budget" in result.stop_reason
    assert any(e.type == "budget" for e in result.events)
    assert result.answer == "Paris [1]."


async def test_garbage_from_model_never_crashes(tmp_path: Path) -> None:
    # planner: garbage twice -> one-goal fallback plan; reflector: garbage twice -> next goal;
    # writer: fine.
    researcher, _, search = make(
        tmp_path, ["not json", "{]", "???", "nope", "Paris is the capital [1]."]
    )
    result = await researcher.arun("What is the capital of France?")
    assert search.queries and "capital" in search.queries[0].lower()
    errors = [e for e in result.events if e.type == "error"]
    assert len(errors) == 2 and "planner failed" in errors[0].data["message"]
    assert result.answer == "Paris is the capital [1]."
    assert result.usage.model_calls == 5  # failed attempts still count
    assert result.stop_reason.startswith("model output unusable")


async def test_writer_failure_gives_fallback_answer_with_real_citations(tmp_path: Path) -> None:
    researcher, _, _ = make(tmp_path, [PLAN, SATISFIED])  # no reply left for the writer
    result = await researcher.arun("What is the capital of France?")
    assert "Paris is the capital of France [1]" in result.answer
    assert result.citations and result.citations[0].n == 1


async def test_citation_to_unread_source_is_removed(tmp_path: Path) -> None:
    researcher, _, _ = make(
        tmp_path, [PLAN, SATISFIED, "Paris [1]. Berlin is in Germany [9]. Also [2]."]
    )
    result = await researcher.arun("What is the capital of France?")
    assert "[9]" not in result.answer
    cited = {c.source_id for c in result.citations}
    read = {
        i["source_id"] for e in result.events if e.type == "observation" for i in e.data["items"]
    }
    assert cited <= read
    # the sentence citing a source the writer was never given is removed by the support check
    (grounding,) = [e for e in result.events if e.type == "grounding"]
    assert "Berlin is in Germany [9]." in [r["sentence"] for r in grounding.data["removed"]]


async def test_empty_question_is_rejected(tmp_path: Path) -> None:
    researcher, _, _ = make(tmp_path, [])
    with pytest.raises(ResearchError, match="empty"):
        await researcher.arun("   ")


async def test_events_are_stored_as_they_happen(tmp_path: Path) -> None:
    researcher, _, _ = make(tmp_path, [PLAN, SATISFIED, "Paris [1]."])
    result = await researcher.arun("What is the capital of France?", run_id="r1")
    stored = researcher.run_store.events("r1")
    assert [e["type"] for e in stored] == [e.type for e in result.events]
    record = researcher.run_store.get_run("r1")
    assert record is not None and record.status == "done" and record.answer == "Paris [1]."


async def test_interrupted_run_resumes_from_checkpoint(tmp_path: Path) -> None:
    entered = asyncio.Event()

    search = WordSearch()
    first = Researcher(
        load_settings(**PLAN_ALWAYS),
        models=HangsOnSecondCall([PLAN], entered),
        tools=ToolRegistry([search, Read()]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    task = asyncio.create_task(first.arun("What is the capital of France?", run_id="resume-me"))
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert search.queries == ["capital France"]
    assert first.run_store.get_run("resume-me").status == "cancelled"

    resumed, _, search2 = make(tmp_path, [SATISFIED, "Paris [1]."])
    result = await resumed.aresume("resume-me")
    assert search2.queries == []  # the search step was checkpointed, not redone
    assert result.answer == "Paris [1]."
    assert [e.type for e in result.events] == [
        "plan",
        "goal",
        "tool_call",
        "observation",
        "reflection",
        "answer",
    ]


async def test_cancel_ends_the_run_with_its_partial_answer(tmp_path: Path) -> None:
    entered = asyncio.Event()

    researcher = Researcher(
        load_settings(**PLAN_ALWAYS),
        models=HangsOnSecondCall([PLAN], entered),
        tools=ToolRegistry([WordSearch(), Read()]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    assert researcher.cancel("nothing-running") is False
    task = asyncio.create_task(researcher.arun("What is the capital of France?", run_id="c1"))
    await asyncio.wait_for(entered.wait(), 10)
    assert researcher.running() == ["c1"]
    assert researcher.cancel("c1") is True
    result = await asyncio.wait_for(task, 10)
    assert result.stop_reason == "cancelled by the user"
    # what it had found is kept: the search results are the partial answer's sources
    assert result.answer and result.citations
    assert [e.type for e in result.events][:4] == ["plan", "goal", "tool_call", "observation"]
    record = researcher.run_store.get_run("c1")
    assert record is not None and record.status == "cancelled" and record.answer == result.answer
    assert researcher.running() == []


async def test_model_error_on_every_call_still_answers(tmp_path: Path) -> None:
    class Down(ScriptedChatModel):
        async def _generate(self, *a, **k):
            raise ModelError("endpoint unreachable")

    researcher = Researcher(
        load_settings(**PLAN_ALWAYS),
        models=Down(),
        tools=ToolRegistry([WordSearch(), Read()]),
        checkpoint_path=tmp_path / "c.db",
    )
    result = await researcher.arun("What is the capital of France?")
    assert result.answer  # a fallback answer, not a traceback
    assert result.stop_reason.startswith("writer failed")
    assert sum(e.type == "error" for e in result.events) == 3


async def test_astream_yields_events_live(tmp_path: Path) -> None:
    researcher, _, _ = make(tmp_path, [PLAN, SATISFIED, "Paris is the capital [1]."])
    streamed = [event async for event in researcher.astream("What is the capital of France?")]
    # the writer's text streams as it is generated, before the checked answer
    deltas = [e for e in streamed if e.type == "answer_delta"]
    assert "".join(e.data["text"] for e in deltas) == "Paris is the capital [1]."
    assert len(deltas) == 5 and streamed[-1].type == "answer"
    events = [e for e in streamed if e.type != "answer_delta"]
    assert [e.type for e in events] == [
        "plan", "goal", "tool_call", "observation", "reflection", "answer"
    ]  # fmt: skip
    # deltas are shown live, never stored: the run store keeps the checked answer only
    stored = researcher.run_store.events(streamed[-1].data.get("run_id") or _run_id(researcher))
    assert "answer_delta" not in [e["type"] for e in stored]
    # each streamed event carries the run's usage so far: calls grow as the run goes
    usage = [e.usage or {} for e in events]
    assert usage[0]["model_calls"] == 1 and usage[-1]["model_calls"] == 3
    assert usage[3]["tool_calls"] == 1 and usage[-1]["tool_calls"] == 1


def _run_id(researcher: Researcher) -> str:
    return researcher.run_store.list_runs(1)[0].run_id


def test_sync_run(tmp_path: Path) -> None:
    researcher, _, _ = make(tmp_path, [PLAN, SATISFIED, "Paris [1]."])
    result = researcher.run("What is the capital of France?")
    assert result.answer == "Paris [1]." and result.timings.wall_seconds > 0
    assert result.model_dump(mode="json")["citations"][0]["url"].startswith("https://")


async def test_token_budget_ends_with_best_answer(tmp_path: Path) -> None:
    class Expensive(ScriptedChatModel):
        async def _generate(self, messages, **kwargs):
            result = await super()._generate(messages, **kwargs)
            result.usage.prompt_tokens = 700
            return result

    again = {**SATISFIED, "verdict": "partial", "next_action": "search", "query": "Paris"}
    researcher = Researcher(
        load_settings(**PLAN_ALWAYS, **{"budget.max_tokens": 1000}),
        models=Expensive([PLAN, again, "Paris [1]."]),
        tools=ToolRegistry([WordSearch(), Read()]),
        checkpoint_path=tmp_path / "c.db",
    )
    result = await researcher.arun("What is the capital of France?")
    assert "token budget" in result.stop_reason
    assert result.usage.tool_calls == 1 and result.answer == "Paris [1]."


async def test_time_budget_ends_with_best_answer(tmp_path: Path) -> None:
    researcher = Researcher(
        load_settings(**PLAN_ALWAYS, **{"budget.max_seconds": 0.6}),
        models=Slow([PLAN, SATISFIED, "Paris [1]."], 0.4),
        tools=ToolRegistry([WordSearch(), Read()]),
        checkpoint_path=tmp_path / "c.db",
    )
    result = await researcher.arun("What is the capital of France?")
    # the reflection ran out of time (fallback), then the run stopped and still answered
    assert any("reflection failed" in e.data.get("message", "") for e in result.events)
    assert result.answer
    assert result.timings.wall_seconds < 5


def test_note_without_markers_is_attributed_by_overlap() -> None:
    from agent.graph import _note_from

    observations = [
        {"source_id": "a", "text": "Berlin is the capital of Germany."},
        {"source_id": "b", "text": "Paris is the capital and largest city of France."},
    ]
    note = _note_from("Paris is the largest city of France", observations, 1)
    assert note["source_ids"] == ["b"] and note["text"].endswith("[[0]]")
    unrelated = _note_from("Tokyo hosts the Olympics", observations, 1)
    assert unrelated["source_ids"] == []


async def test_plan_with_columns_is_treated_as_wide(tmp_path: Path) -> None:
    plan = {**PLAN, "columns": ["City", "Country"]}
    table_plan = {
        "entity": "capital city",
        "columns": [{"name": "City", "type": "text"}, {"name": "Country", "type": "text"}],
        "key_column": "City",
        "conditions": [{"field": "", "test": "contains", "value": "capital"}],
        "queries": ["capital city"],
    }
    researcher, model, _ = make(
        tmp_path, [plan, table_plan, {"listed_in": ""}] + [{"country": None}] * 5
    )
    result = await researcher.arun("List capital cities and their countries")
    assert result.events[0].data["task_kind"] == "wide"
    assert [e.type for e in result.events][:2] == ["plan", "table_plan"]
    assert "You plan the research for a question that asks for a table" in (
        model.calls[1][0].content
    )
    assert "| City | Country |" in result.answer and result.table is not None


async def test_each_role_uses_its_own_model(tmp_path: Path) -> None:
    planner = ScriptedChatModel([PLAN], name="planner-model")
    reflector = ScriptedChatModel([SATISFIED], name="reflector-model")
    writer = ScriptedChatModel(["Paris [1]."], name="writer-model")
    researcher = Researcher(
        load_settings(**PLAN_ALWAYS),
        models={"planner": planner, "reflector": reflector, "writer": writer, "judge": writer},
        tools=ToolRegistry([WordSearch(), Read()]),
        checkpoint_path=tmp_path / "c.db",
    )
    result = await researcher.arun("What is the capital of France?")
    assert result.answer == "Paris [1]."
    assert (len(planner.calls), len(reflector.calls), len(writer.calls)) == (1, 1, 1)
    assert (
        "planner" in planner.calls[0][0].content and "reflection" in reflector.calls[0][0].content
    )


async def test_unsupported_evidence_sends_the_agent_searching(tmp_path: Path) -> None:
    invented = {
        **SATISFIED,
        "evidence": "The Eiffel Tower is 330 metres tall [1]",
        "query": "France capital city",
    }
    researcher, _, search = make(tmp_path, [PLAN, invented, SATISFIED, "Paris [1]."])
    result = await researcher.arun("What is the capital of France?")
    first = next(e for e in result.events if e.type == "reflection")
    assert first.data["verdict"] == "off_track" and first.data["decision"] == "search"
    assert first.data["unsupported_evidence"].startswith("The Eiffel Tower")
    assert "set aside" in first.summary()
    # it searched again instead of accepting the claim
    assert search.queries == ["capital France", "France capital city"]


async def test_unsupported_evidence_without_a_new_query_does_not_settle_the_goal(
    tmp_path: Path,
) -> None:
    invented = {**SATISFIED, "evidence": "The Eiffel Tower is 330 metres tall [1]"}
    researcher, _, search = make(tmp_path, [PLAN, invented, "No answer."])
    result = await researcher.arun("What is the capital of France?")
    reflection = next(e for e in result.events if e.type == "reflection")
    assert reflection.data["goal_status"] == "abandoned" and search.queries == ["capital France"]


async def test_model_calls_are_traced_in_the_run_store(tmp_path: Path) -> None:
    researcher, model, _ = make(tmp_path, [PLAN, SATISFIED, "The capital of France is Paris [1]."])
    result = await researcher.arun("What is the capital of France?")
    calls = researcher.run_store.model_calls(result.run_id)
    assert [(c.role, c.task) for c in calls] == [
        ("planner", "Plan"),
        ("reflector", "Reflection"),
        ("writer", "answer"),
    ]
    # exactly what the model was sent, and what it gave back
    assert calls[0].messages == [m.to_dict() for m in model.calls[0]]
    assert json.loads(calls[1].output)["verdict"] == "satisfied"
    assert calls[2].output == "The capital of France is Paris [1]."
    # every prompt knows today's date
    today = datetime.date.today().isoformat()
    assert all(today in c.messages[-1]["content"] for c in calls)


async def test_a_failing_trace_recorder_costs_the_trace_not_the_run(tmp_path: Path) -> None:
    researcher, _, _ = make(tmp_path, [PLAN, SATISFIED, "The capital of France is Paris [1]."])

    def broken(*args: object) -> None:
        raise OSError("disk full")

    researcher._call_recorder = lambda run_id: broken  # type: ignore[method-assign]
    result = await researcher.arun("What is the capital of France?")
    assert result.answer == "The capital of France is Paris [1]."
