"""Wide research on the real embedded model (planner, extractor), real corpus store and tools."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent import Researcher, load_settings
from agent.wide.schemas import Condition
from tests.agent.wide.corpus import build
from tests.agent.wide.test_nodes import QUESTION
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool


@pytest.mark.slow
async def test_wide_question_on_the_embedded_model(tmp_path: Path) -> None:
    store = build(tmp_path)
    researcher = Researcher(
        load_settings(data_dir=tmp_path / "data"),
        tools=ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    try:
        result = await researcher.arun(QUESTION)
    finally:
        await researcher.aclose()
    assert result.stop_reason == "answered", result.answer
    assert result.table_columns == ["River", "Length (km)", "Mouth"]
    fence = re.search(r"```markdown\n(.*?)\n```", result.answer, re.S)
    assert fence and fence.group(1).splitlines()[0] == "| River | Length (km) | Mouth |"
    rivers = {row["River"]: row for row in result.table or []}
    assert len({"Danube", "Rhine", "Elbe", "Volga"} & set(rivers)) >= 3, result.answer
    assert not {"Nile", "Congo", "Thames", "Seine"} & set(rivers), result.answer
    for name, length in (("Danube", "2850"), ("Volga", "3530")):
        if name in rivers:
            assert rivers[name]["Length (km)"] == length
    plan = next(e.data for e in result.events if e.type == "table_plan")
    assert plan["source"] == "model" and plan["conditions"]
    assert any(e.type == "row" for e in result.events)
    assert result.usage.model_calls >= 1  # the plan; labelled cells need no call


MANUAL = """## Quill plugins

Quill ships with the plugins below. Each has a category and the release that added it.

Table 3. Bundled plugins

Plugin | Category | Since
spellcheck | editing | 1.2
autosave | files | 1.0
wordcount | statistics | 1.4
linter | editing | 2.1
backup | files | 2.3
readtime | statistics | 2.0
snippets | editing | 1.7
sync | files | 2.5

## Installing more plugins

Further plugins are installed with `quill plugin add NAME`.
"""
TABLE_QUESTION = """Which plugins bundled with the Quill editor belong to the editing category?

For each entry, provide:
- Plugin: the plugin's name
- Since: the Quill release that added it

Please organize the results in one Markdown table with the following columns in order:
Plugin, Since
"""


@pytest.mark.slow
async def test_rows_of_a_table_page_on_the_embedded_model(tmp_path: Path) -> None:
    """Quality floor on the real model: the rows of a filtered table inside a page (not one
    page per entity), row F1 >= 0.8 against the expected table."""
    from retriever.corpus_store import CorpusStore
    from retriever.types import Document

    store = CorpusStore(tmp_path / "corpus.db")
    store.add_documents(
        "quill",
        [
            Document("plugins", MANUAL, "https://quill.example/plugins", "Quill plugins"),
            Document(
                "intro",
                "## Quill\n\nQuill is a small text editor for writers.\n",
                "https://quill.example/",
                "Quill",
            ),
            Document(
                "editing",
                "## Editing text\n\nSelect text and press Ctrl-X to cut it.\n",
                "https://quill.example/editing",
                "Editing text",
            ),
        ],
    )
    researcher = Researcher(
        load_settings(data_dir=tmp_path / "data"),
        tools=ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    try:
        result = await researcher.arun(TABLE_QUESTION)
    finally:
        await researcher.aclose()
    expected = {("spellcheck", "1.2"), ("linter", "2.1"), ("snippets", "1.7")}
    got = {(row["Plugin"], row["Since"]) for row in result.table or []}
    right = len(expected & got)
    precision = right / len(got) if got else 0.0
    recall = right / len(expected)
    f1 = 2 * precision * recall / (precision + recall) if right else 0.0
    assert f1 >= 0.8, result.answer
    assert "Quill plugins" not in {row["Plugin"] for row in result.table or []}


@pytest.mark.slow
async def test_a_condition_read_against_a_table_on_the_embedded_model() -> None:
    """The embedded model reads a condition worded as the question words it ("Access equals
    on site") against a table that states it in its own columns: the reading the code accepts
    keeps exactly the sensors that cannot be read remotely."""
    from agent.config import BudgetConfig, SearchConfig
    from agent.llm.factory import build_role_models
    from agent.state import RunContext
    from agent.wide.membership import groups
    from agent.wide.table_conditions import reread_failing_groups
    from agent.wide.verdicts import GroupVerdict, row_verdicts
    from tests.agent.wide.test_table_conditions import PLAN, QUESTION, SENSORS, rows

    settings = load_settings()
    models = build_role_models(settings.models)
    ctx = RunContext(models=models, tools=ToolRegistry([]), budget=BudgetConfig(max_seconds=120),
                     search=SearchConfig())  # fmt: skip
    found = rows()
    condition_groups = groups(PLAN.conditions)
    verdicts = {r.row_id: row_verdicts(condition_groups, r, SENSORS, "", []) for r in found}
    try:
        notes, _ = await reread_failing_groups(ctx, QUESTION, condition_groups, found, verdicts)
    finally:
        for model in {id(m): m for m in models.values()}.values():
            await model.aclose()
    kept = {r.key for r in found if verdicts[r.row_id] == [GroupVerdict.PASS]}
    assert kept == {"S1 barometer", "S3 anemometer"}, notes
    assert len(notes) == 1 and "Remote" in notes[0]


@pytest.mark.slow
async def test_which_items_count_is_asked_apart_on_the_embedded_model() -> None:
    """With a plan that kept no test of the items, the embedded model names the property the
    question asks of them; for a question asking for every item listed, no test survives."""
    from agent.config import BudgetConfig, SearchConfig
    from agent.llm.factory import build_role_models
    from agent.state import RunContext
    from agent.wide.planning import _selection
    from agent.wide.schemas import ColumnSpec, TablePlanReply
    from agent.wide.table_plan import finalise_plan

    def plan_for(question: str, place: str, key: str, other: str) -> object:
        reply = TablePlanReply(
            entity="item", columns=[ColumnSpec(name=key, type="text"),
                                    ColumnSpec(name=other, type="text")],
            key_column=key, conditions=[Condition(field="", test="contains", value="x")],
            queries=["x"])  # fmt: skip
        plan = finalise_plan(question, reply, place)
        plan.conditions = []
        return plan

    restart = (
        "From section 2.4 (Harbour Settings) of the Skerrow harbour manual, list every "
        "setting whose description says it can only be changed while the harbour is closed."
        "\n\nFor each entry, provide:\n- Setting: the setting's name\n- Default: its default"
        "\n"
    )
    every = (
        "List every lighthouse in the coastal registry's table of lighthouses.\n\nFor each "
        "entry, provide:\n- Lighthouse: its name\n- Height: its height in metres\n"
    )
    own_page = (
        "Which of the garden's greenhouses are heated in winter? Each greenhouse's own page "
        "says so. List them all.\n\nFor each entry, provide:\n- Greenhouse: its name\n- Area: "
        "its floor area\n"
    )
    settings = load_settings()
    models = build_role_models(settings.models)
    ctx = RunContext(models=models, tools=ToolRegistry([]), budget=BudgetConfig(max_seconds=300),
                     search=SearchConfig())  # fmt: skip
    try:
        found, _, error = await _selection(
            ctx, restart, plan_for(restart, "section 2.4 (Harbour Settings)", "Setting", "Default")
        )
        none, _, _ = await _selection(
            ctx, every, plan_for(every, "the coastal registry's table", "Lighthouse", "Height")
        )
        heated, _, _ = await _selection(ctx, own_page, plan_for(own_page, "", "Greenhouse", "Area"))
    finally:
        for model in {id(m): m for m in models.values()}.values():
            await model.aclose()
    assert not error and found is not None
    wanted = {"changed", "harbour", "closed"}
    assert found.test == "contains" and len(wanted & set(found.value.lower().split())) >= 2, found
    assert none is None, none
    # a property of the item, read in its text (never a test of its name alone)
    assert heated is not None and heated.field in ("", "Heated") and "heated" in heated.value
    assert heated.test in ("contains", "equals"), heated
