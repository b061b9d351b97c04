"""Stored runs shaped like the agent's: the real prompt files rendered with plausible values,
outputs serialised through the real schemas (what `agent.steps.structured` records), written to
a real RunStore with `add_model_call`, `add_event`, `finish_run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.prompts import load_prompt
from agent.schemas import Plan, Reflection
from agent.wide.cells import extraction_schema
from agent.wide.schemas import ConditionVerdict, TablePlanReply
from agent.wide.table_plan import Column
from memory.run_store import RunStore

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
    "facts": [{"subject": "France", "attribute": "capital", "value": "Paris", "result": 1}],
    "missing": "",
    "verdict": "satisfied",
    "next_action": "next_goal",
    "query": "",
    "read": 0,
}
TABLE_PLAN = {
    "entity": "country",
    "columns": [{"name": "country", "type": "text"}, {"name": "capital", "type": "text"}],
    "key_column": "country",
    "conditions": [{"field": "", "test": "contains", "value": "Europe"}],
    "queries": ["European countries capital", "capital city Europe"],
}
TOOLS_BLOCK = (
    '- weather_lookup: Current weather for a city\n  arguments: {"type": "object", '
    '"properties": {"city": {"type": "string"}, "units": {"type": "string"}}, '
    '"required": ["city"]}\n'
    '- currency_rate: Exchange rate between two currencies\n  arguments: {"type": "object", '
    '"properties": {"base": {"type": "string"}, "quote": {"type": "string"}}}'
)


def messages(prompt: str, **values: Any) -> list[dict[str, str]]:
    return [m.to_dict() for m in load_prompt(prompt).render(**values)]


def planner_call(question: str) -> tuple[str, str, list[dict[str, str]], str]:
    return (
        "planner",
        "Plan",
        messages("planner", question=question),
        Plan.model_validate(PLAN).model_dump_json(),
    )


def reflector_call(question: str, **changes: Any) -> tuple[str, str, list[dict[str, str]], str]:
    prompt = messages(
        "reflector",
        question=question,
        goal=PLAN["sub_goals"][0]["goal"],  # type: ignore[index]
        evidence_needed="a sentence naming it",
        queries="capital France",
        notes="(none yet)",
        tool="search(query='capital France')",
        results='<result n="1" source="wiki:Paris">Paris is the capital of France.</result>',
    )
    return (
        "reflector",
        "Reflection",
        prompt,
        Reflection.model_validate({**SATISFIED, **changes}).model_dump_json(),
    )


def writer_call(question: str, answer: str) -> tuple[str, str, list[dict[str, str]], str]:
    prompt = messages(
        "writer",
        question=question,
        notes="- Paris is the capital of France [1]",
        sources="[1] Paris (https://example.org/Paris)",
        format_rules="Answer in prose with citations like [1].",
    )
    return "writer", "answer", prompt, answer


def tool_choice_call(question: str, choice: dict[str, Any], retry_of: dict[str, Any] | None = None
                     ) -> tuple[str, str, list[dict[str, str]], str]:  # fmt: skip
    prompt = messages(
        "tool_choice",
        question=question,
        goal="Find the current weather in Paris",
        query="weather Paris",
        tools=TOOLS_BLOCK,
        demos='Request: weather in Rome\nCall: {"tool": "weather_lookup", "arguments": '
        '{"city": "Rome"}}',
    )
    if retry_of is not None:
        prompt += [
            {"role": "assistant", "content": json.dumps(retry_of)},
            {
                "role": "user",
                "content": "arguments for weather_lookup do not validate: city is required. "
                "Reply again with arguments that fit its schema.",
            },
        ]
    return "planner", "tool_choice", prompt, json.dumps(choice, separators=(",", ":"))


def table_plan_call(question: str) -> tuple[str, str, list[dict[str, str]], str]:
    return (
        "planner",
        "TablePlanReply",
        messages("table_planner", question=question),
        (TablePlanReply.model_validate(TABLE_PLAN).model_dump_json()),
    )


def cells_call(country: str, capital: str) -> tuple[str, str, list[dict[str, str]], str]:
    schema, names = extraction_schema([Column("capital", "text", "")])
    prompt = messages(
        "cell_extractor",
        entity="country",
        row=f"<data>{country}</data>",
        fields="\n".join(f"- {n}: {c.name} ({c.type})" for n, c in names.items()),
        title=f"<data>{country}</data>",
        excerpt=f"<data>{country} is a country in Europe. Its capital is {capital}.</data>",
    )
    return (
        "reflector",
        "Cells",
        prompt,
        schema.model_validate({next(iter(names)): capital}).model_dump_json(),
    )


def verdict_call(country: str) -> tuple[str, str, list[dict[str, str]], str]:
    prompt = messages(
        "condition_check",
        row=f"<data>{country}</data>",
        condition="the text contains 'Europe'",
        title=f"<data>{country}</data>",
        excerpt=f"<data>{country} is a country in Europe.</data>",
    )
    return (
        "reflector",
        "ConditionVerdict",
        prompt,
        ConditionVerdict(quote=f"{country} is a country in Europe", holds=True).model_dump_json(),
    )


def write_run(
    store: RunStore,
    run_id: str,
    question: str,
    calls: list[tuple[str, str, list[dict[str, str]], str]],
    *,
    status: str = "done",
    events: list[dict[str, Any]] | None = None,
    result: dict[str, Any] | None = None,
) -> None:
    store.start_run(run_id, question)
    for role, task, prompt, output in calls:
        store.add_model_call(run_id, role, task, prompt, output, prompt_tokens=100,
                             completion_tokens=20)  # fmt: skip
    for event in events or []:
        store.add_event(run_id, event)
    if status != "running":
        answer = next((o for _, t, _, o in calls if t == "answer"), "")
        store.finish_run(run_id, status, answer, {"run_id": run_id, **(result or {})})


def lookup_run(store: RunStore, run_id: str, question: str = "What is the capital of France?",
               **kwargs: Any) -> None:  # fmt: skip
    write_run(
        store,
        run_id,
        question,
        [
            planner_call(question),
            reflector_call(question),
            writer_call(question, "The capital of France is Paris [1]."),
        ],
        **kwargs,
    )


def make_store(path: Path) -> RunStore:
    return RunStore(path)
