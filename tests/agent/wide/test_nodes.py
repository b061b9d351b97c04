"""Wide research through the real graph: real LangGraph (Send fan-out), real SQLite corpus
store and tools, a scripted model that answers from the prompt it is given."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agent import Researcher, ScriptedChatModel, load_settings
from agent.llm.base import Message
from tests.agent.wide.corpus import RIVERS, build
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool

QUESTION = """List every river of the Europe region longer than 1,000 km.

For each entry, provide:
- River: the river's name
- Length (km): its length in km, as a plain number
- Mouth: where it flows into

Please organize the results in one Markdown table with the following columns in order:
River, Length (km), Mouth
"""
PLAN = {
    "entity": "river",
    "columns": [
        {"name": "River", "type": "text"},
        {"name": "Length (km)", "type": "number"},
        {"name": "Mouth", "type": "text"},
    ],
    "key_column": "River",
    "conditions": [
        {"field": "Region", "test": "equals", "value": "Europe"},
        {"field": "Length", "test": "more_than", "value": "1000"},
    ],
    "queries": ["river Europe length"],
}
FACTS = {
    name: {"length": float(length.replace(",", "")), "mouth": mouth, "discharge": None}
    for name, _, length, _, mouth in RIVERS
}
FACTS.update({name: {**FACTS[name], "discharge": 1000.0 * i + 500}
              for i, (name, *_) in enumerate(RIVERS, 1)})  # fmt: skip
EUROPE_LONG = ["Danube", "Rhine", "Elbe", "Volga"]


def oracle(plan: dict[str, Any], *, extract: bool = True, checks: list[str] | None = None):
    """A model that plans `plan`, extracts from the excerpt it is shown (values it can see
    there), and answers condition checks (recording them in `checks`)."""

    def reply(messages: Sequence[Message]) -> str:
        system, user = messages[0].content, messages[-1].content
        if "You plan the research" in system:
            return json.dumps(plan)
        if "Say where the question says the items are listed" in system:
            return json.dumps({"listed_in": plan.get("listed_in", "")})
        if "You fill one row" in system:
            if not extract:
                return "I cannot do that"
            row = re.search(r"^Row: (.+)$", user, re.M).group(1)
            names = re.findall(r"^- (\w+): ", user, re.M)
            excerpt = user.split("<excerpt", 1)[1]
            known = FACTS.get(row, {})
            values = {}
            for name in names:
                value = known.get(name)
                shown = value is not None and (
                    f"{value:,.0f}" in excerpt or f"{value:.0f}" in excerpt
                    if isinstance(value, float)
                    else str(value) in excerpt
                )
                values[name] = value if shown else None
            return json.dumps(values)
        if "You check one condition" in system:
            row = re.search(r"^Subject: (.+)$", user, re.M).group(1)
            if checks is not None:
                checks.append(row)
            return json.dumps({"quote": "", "holds": False})
        raise AssertionError(f"unexpected prompt: {system[:80]}")

    return reply


def make(tmp_path: Path, replies: list, **overrides: Any) -> tuple[Researcher, ScriptedChatModel]:
    store = build(tmp_path)
    model = ScriptedChatModel(replies)
    settings = load_settings(data_dir=tmp_path / "data", **overrides)
    tools = ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)])
    return Researcher(settings, models=model, tools=tools,
                      checkpoint_path=tmp_path / "ckpt.db"), model  # fmt: skip


def events(result: Any, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in result.events if e.type == kind]


async def test_a_wide_question_gives_the_complete_sourced_table(tmp_path: Path) -> None:
    checks: list[str] = []
    researcher, _ = make(tmp_path, [oracle(PLAN, checks=checks)] * 40)
    result = await researcher.arun(QUESTION)
    assert result.stop_reason == "answered"
    assert sorted(result.table, key=lambda r: r["River"]) == [
        {"River": name, "Length (km)": f"{FACTS[name]['length']:.0f}",
         "Mouth": FACTS[name]["mouth"]}
        for name in sorted(EUROPE_LONG)
    ]  # fmt: skip
    fence = re.search(r"```markdown\n(.*?)\n```", result.answer, re.S).group(1)
    assert fence.splitlines()[0] == "| River | Length (km) | Mouth |"
    assert len(fence.splitlines()) == 2 + len(EUROPE_LONG)
    assert re.search(r"^- Danube: \[\d\] https://rivers.example/Danube$", result.answer, re.M)
    assert sorted(c.url for c in result.citations) == [
        f"https://rivers.example/{name}" for name in sorted(EUROPE_LONG)
    ]
    # the plan, enumeration until every document stating "Europe" was checked, one row event
    # per entity filled, coverage, the answer
    (plan_event,) = events(result, "table_plan")
    assert plan_event["key_column"] == "River"
    done = [e for e in events(result, "enumerate") if e.get("done")]
    assert done and done[0]["reason"].startswith("complete: every document stating 'Europe'")
    assert done[0]["rows"] == 4 and done[0]["unsettled"] == 1  # the boats page: no length
    assert sorted(e["key"] for e in events(result, "row")) == sorted([*EUROPE_LONG, "River boats"])
    # the page without a length was checked by the model, one condition, and left out
    assert checks == ["River boats"]
    assert events(result, "coverage")[0]["rows"] == 4
    # every cell is a fact with its source in the knowledge cache
    stored = researcher.knowledge.all_facts()
    assert {(f.attribute, f.value, f.source_id) for f in stored} >= {
        ("Length (km)", "2,850 km", "rivers:river/Danube"),  # the source's wording
        ("Mouth", "Black Sea", "rivers:river/Danube"),
    }


async def test_extraction_failures_fall_back_to_the_labelled_fields(tmp_path: Path) -> None:
    researcher, _ = make(
        tmp_path, [oracle(PLAN, extract=False)] * 60, **{"wide.extraction": "model"}
    )
    result = await researcher.arun(QUESTION)
    assert sorted(r["River"] for r in result.table) == sorted(EUROPE_LONG)
    assert {"River": "Danube", "Length (km)": "2850", "Mouth": "Black Sea"} in result.table
    assert any("extraction failed for 'Danube'" in e["message"] for e in events(result, "error"))
    assert {e["how"]["Mouth"] for e in events(result, "row") if e["key"] in EUROPE_LONG} == {
        "field"
    }


async def test_a_failing_planner_still_gives_a_table_from_the_question(tmp_path: Path) -> None:
    question = QUESTION.replace("the Europe region", 'the "Europe" region')
    replies = ["not json", "still not json", *[oracle(PLAN)] * 40]
    researcher, _ = make(tmp_path, replies)
    result = await researcher.arun(question)
    assert any("table planner failed" in e["message"] for e in events(result, "error"))
    (plan_event,) = events(result, "table_plan")
    assert plan_event["source"] == "question"
    names = [r["River"] for r in result.table]
    # without the length condition every page stating "Europe" is a row
    assert set(EUROPE_LONG) <= set(names) and "Nile" not in names


async def test_a_condition_that_rejects_everything_is_dropped(tmp_path: Path) -> None:
    plan = {
        **PLAN,
        "conditions": [
            *PLAN["conditions"],
            {"field": "Region", "test": "contains", "value": "Asia"},
        ],
    }
    plan["conditions"][-1] = {"field": "Mouth", "test": "equals", "value": "Pacific Ocean"}
    researcher, _ = make(tmp_path, [oracle(plan)] * 40)
    result = await researcher.arun(QUESTION.replace("1,000 km.", "1,000 km (Pacific Ocean?)."))
    assert any("condition dropped: Mouth equals 'Pacific Ocean'" in e["message"]
               for e in events(result, "error"))  # fmt: skip
    assert sorted(r["River"] for r in result.table) == sorted(EUROPE_LONG)


async def test_empty_cells_are_filled_from_another_document_about_the_entity(
    tmp_path: Path,
) -> None:
    question = QUESTION.replace("Mouth\n", "Discharge (m3/s)\n").replace(
        "- Mouth: where it flows into", "- Discharge (m3/s): mean discharge"
    )
    plan = {**PLAN, "columns": [*PLAN["columns"][:2], {"name": "Discharge (m3/s)",
                                                      "type": "number"}]}  # fmt: skip
    researcher, _ = make(tmp_path, [oracle(plan)] * 60)
    result = await researcher.arun(question)
    assert sorted(r["River"] for r in result.table) == sorted(EUROPE_LONG)
    assert {r["River"]: r["Discharge (m3/s)"] for r in result.table} == {
        "Danube": "1500",
        "Rhine": "2500",
        "Elbe": "3500",
        "Volga": "4500",
    }
    coverage = events(result, "coverage")
    assert coverage[0]["followups"] == 4 and coverage[-1]["empty_cells"] == 0
    assert "https://profiles.example/Danube" in result.answer  # the row cites both sources


async def test_no_matching_entity_gives_an_empty_table_not_an_error(tmp_path: Path) -> None:
    plan = {**PLAN, "conditions": [{"field": "Region", "test": "equals", "value": "Antarctica"}]}
    researcher, _ = make(tmp_path, [oracle(plan)] * 10)
    result = await researcher.arun(QUESTION.replace("Europe region", "Antarctica region"))
    assert result.table == [] and result.stop_reason == "answered"
    assert "No river in the searched corpora meets the conditions" in result.answer
    assert "| River | Length (km) | Mouth |" in result.answer


async def test_cells_labelled_like_their_column_need_no_model_call(tmp_path: Path) -> None:
    researcher, model = make(tmp_path, [oracle(PLAN)] * 40)
    result = await researcher.arun(QUESTION)
    assert sorted(r["River"] for r in result.table) == sorted(EUROPE_LONG)
    prompts = [call[-1].content for call in model.calls]
    asked = [re.search(r"^Row: (.+)$", p, re.M).group(1) for p in prompts if "Row: " in p]
    assert asked == ["River boats"]  # the rivers' "Length:" and "Mouth:" lines were read
    rows = [e for e in events(result, "row") if e["key"] in EUROPE_LONG]
    assert {how for e in rows for how in e["how"].values()} == {"label"}


async def test_a_text_most_documents_state_is_no_condition(tmp_path: Path) -> None:
    plan = {
        **PLAN,
        "conditions": [*PLAN["conditions"], {"field": "", "test": "contains", "value": "river"}],
    }
    researcher, _ = make(tmp_path, [oracle(plan)] * 40)
    result = await researcher.arun(QUESTION)
    (plan_event,) = events(result, "table_plan")
    assert [c["value"] for c in plan_event["conditions"]] == ["Europe", "1000"]
    assert any("dropped text contains 'river': stated by 9 of 17 documents" in note
               for note in plan_event["notes"])  # fmt: skip
    assert sorted(r["River"] for r in result.table) == sorted(EUROPE_LONG)
    # the answer says what was not tested, and why
    assert "Not tested on each row: the text contains 'river' (stated by 9 of 17" in result.answer


async def test_a_condition_no_document_can_settle_is_dropped(tmp_path: Path) -> None:
    plan = {
        **PLAN,
        "conditions": [
            *PLAN["conditions"],
            {"field": "Distribution", "test": "equals", "value": "navigable"},
        ],
    }
    researcher, model = make(tmp_path, [oracle(plan)] * 40)
    result = await researcher.arun(QUESTION.replace("List every", "List every navigable"))
    assert any("Distribution equals 'navigable': no candidate's text states it"
               in e["message"]
               for e in events(result, "error"))  # fmt: skip
    assert sorted(r["River"] for r in result.table) == sorted(EUROPE_LONG)
    # the answer says the condition was not applied, in a plain sentence beside the table
    assert "The condition Distribution equals 'navigable' could not be checked" in result.answer
    assert not any("You check one condition" in c[0].content for c in model.calls[:-1]
                   if "Row: Danube" in c[-1].content)  # fmt: skip


async def test_an_interrupted_wide_run_resumes_without_redoing_finished_rows(
    tmp_path: Path,
) -> None:
    import asyncio

    answer = oracle(PLAN)
    entered = asyncio.Event()
    rows_asked: list[str] = []

    class DiesOnTheThirdRow(ScriptedChatModel):
        async def _generate(self, messages, **kwargs):
            row = re.search(r"^Row: (.+)$", messages[-1].content, re.M)
            if row:
                rows_asked.append(row.group(1))
                if len(rows_asked) == 3 and not entered.is_set():
                    entered.set()
                    await asyncio.Event().wait()  # the process "dies" here
            return await super()._generate(messages, **kwargs)

    store = build(tmp_path)
    tools = ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)])
    settings = load_settings(data_dir=tmp_path / "data", **{"wide.extraction": "model",
                                                            "wide.concurrency": 1})  # fmt: skip
    first = Researcher(settings, models=DiesOnTheThirdRow([answer] * 40), tools=tools,
                       checkpoint_path=tmp_path / "ckpt.db")  # fmt: skip
    task = asyncio.create_task(first.arun(QUESTION, run_id="wide-resume"))
    await asyncio.wait_for(entered.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    before = list(rows_asked)
    second = Researcher(settings, models=DiesOnTheThirdRow([answer] * 40), tools=tools,
                        checkpoint_path=tmp_path / "ckpt.db")  # fmt: skip
    result = await second.aresume("wide-resume")
    assert sorted(r["River"] for r in result.table) == sorted(EUROPE_LONG)
    assert len(before) == 3
    # the rows finished before the interruption were not extracted again
    again = rows_asked[len(before) :]
    assert set(before[:2]).isdisjoint(again) and before[2] in again
    assert [e.type for e in result.events].count("table_plan") == 1


async def test_a_condition_the_question_does_not_state_is_dropped(tmp_path: Path) -> None:
    plan = {
        **PLAN,
        "conditions": [
            *PLAN["conditions"],
            {"field": "Architecture", "test": "equals", "value": "amd64"},
        ],
    }
    researcher, _ = make(tmp_path, [oracle(plan)] * 40)
    result = await researcher.arun(QUESTION)
    (plan_event,) = events(result, "table_plan")
    assert "dropped conditions the question does not state: 'amd64'" in plan_event["notes"]
    assert sorted(r["River"] for r in result.table) == sorted(EUROPE_LONG)


async def test_with_no_exact_match_equals_tests_are_read_as_contains(tmp_path: Path) -> None:
    plan = {
        **PLAN,
        "conditions": [*PLAN["conditions"], {"field": "Mouth", "test": "equals", "value": "North"}],
    }
    researcher, _ = make(tmp_path, [oracle(plan)] * 40)
    result = await researcher.arun(QUESTION.replace("1,000 km.", "1,000 km, to the North."))
    assert any("read loosely" in e["message"] for e in events(result, "error"))
    assert sorted(r["River"] for r in result.table) == ["Elbe", "Rhine"]  # the North Sea ones


async def test_with_web_search_on_the_corpus_side_the_table_is_complete(tmp_path: Path) -> None:
    """Wide questions with `--web`: search is the web-and-corpus tool; exact phrases and the
    share of documents stating a text use its corpus side, and the table is still complete."""
    from agent.researcher import web_tools
    from tests.agent.fake_web import FakeWeb, page

    store = build(tmp_path)
    with FakeWeb({"/x": page("Unrelated", "qqq zzz")}).running() as web:
        settings = load_settings(
            data_dir=tmp_path / "data",
            **{"web.enabled": True, "web.allow_hosts": ["127.0.0.1"],
               "web.backends": [{"kind": "searxng", "base_url": web.base_url}]},
        )  # fmt: skip
        tools = ToolRegistry(web_tools(settings, CorpusSearchTool(store), ReadDocumentTool(store)))
        researcher = Researcher(settings, models=ScriptedChatModel([oracle(PLAN)] * 40),
                                tools=tools, checkpoint_path=tmp_path / "ckpt.db")  # fmt: skip
        result = await researcher.arun(QUESTION)
        assert any(r.startswith("/search?") for r in web.requests)  # the web was asked too
    assert sorted(row["River"] for row in result.table) == sorted(EUROPE_LONG)


async def test_where_the_rows_are_listed_is_asked_apart_from_the_plan(tmp_path: Path) -> None:
    """The plan's conditions come from one call, the place from another: a place the model
    reads ("the rivers list") becomes the plan's scope; a place call that fails leaves the plan
    and its conditions as they were, with the failure in the events."""
    question = QUESTION.replace("List every river", "From the rivers list, list every river")
    place = {"listed_in": "the rivers list"}
    researcher, model = make(tmp_path, [oracle(PLAN)] * 40)
    model._replies[1] = place  # the plan, then where the rows are listed
    result = await researcher.arun(question)
    (plan_event,) = events(result, "table_plan")
    assert plan_event["scope"] == "the rivers list" and plan_event["scope_words"]
    asked = [c[0].content for c in model.calls[:2]]
    assert "You plan the research" in asked[0] and "Say where the question says" in asked[1]

    failing, model = make(tmp_path / "again", [PLAN, "no JSON here", "still none"]
                          + [oracle(PLAN)] * 40)  # fmt: skip
    result = await failing.arun(question)
    (plan_event,) = events(result, "table_plan")
    assert plan_event["scope"] == ""
    assert [c["value"] for c in plan_event["conditions"]] == ["Europe", "1000"]
    assert any("where the rows are listed failed" in e["message"] for e in events(result, "error"))
    assert sorted(row["River"] for row in result.table) == sorted(EUROPE_LONG)
