"""The table plan node's corpus checks (agent/wide/planning.py), on a real corpus store."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.wide.planning import _scope_words, _without_common_texts
from agent.wide.schemas import Condition
from agent.wide.table_plan import Column, TablePlan, place_words
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool


async def test_scope_words_leave_out_words_most_documents_state(tmp_path: Path) -> None:
    """Every page of the Quill manual says "Quill": it names no place in it; "plugins" does."""
    store = CorpusStore(tmp_path / "corpus.db")
    pages = [("Quill plugins", "The plugins bundled with Quill.")] + [
        (f"Quill topic {i}", f"Quill handles topic {i}.") for i in range(11)
    ]
    store.add_documents("manual", [Document(f"d{i}", text, "", title)
                                   for i, (title, text) in enumerate(pages)])  # fmt: skip

    def plan() -> TablePlan:
        scope = "the Quill manual's plugin list"
        return TablePlan("plugin", [Column("Plugin")], "Plugin", [], ["plugin"], scope=scope,
                         scope_words=place_words(scope))  # fmt: skip

    context = SimpleNamespace(tools=ToolRegistry([CorpusSearchTool(store)]))
    planned = await _scope_words(context, plan())  # type: ignore[arg-type]
    assert planned.scope_words == ["plugin"]
    # 1 of 12 documents states "plugin": log(13 / 2) + 0.1
    assert planned.scope_weights == [pytest.approx(math.log(13 / 2) + 0.1)]
    # without a corpus to ask (the web), every distinctive word stays
    web = SimpleNamespace(tools=ToolRegistry([]))
    assert (await _scope_words(web, plan())).scope_words == ["quill", "plugin"]  # type: ignore[arg-type]


async def test_a_text_most_documents_state_is_no_test(tmp_path: Path) -> None:
    """ "contains 'Quill'" in a corpus where every page says Quill selects nothing and its
    exact search would read the corpus: dropped, and the plan's notes say so, even when it is
    the plan's only test; a rarer text stays."""
    store = CorpusStore(tmp_path / "corpus.db")
    store.add_documents("manual", [Document(f"d{i}", f"Quill topic {i}." + (" Plugins." if i
                        else ""), "", f"Topic {i}") for i in range(12)])  # fmt: skip
    context = SimpleNamespace(tools=ToolRegistry([CorpusSearchTool(store)]))

    def plan(*values: str) -> TablePlan:
        tests = [Condition(field="", test="contains", value=v) for v in values]
        return TablePlan("topic", [Column("Topic")], "Topic", tests, [*values, "topic"])

    only = await _without_common_texts(context, plan("Quill"))  # type: ignore[arg-type]
    assert only.conditions == [] and only.queries == ["topic"]
    assert any("'Quill'" in note and "12 of 12" in note for note in only.notes)
    assert only.untested == ["the text contains 'Quill' (stated by 12 of 12 documents: it tells "
                             "no rows apart)"]  # fmt: skip
    both = await _without_common_texts(context, plan("Quill", "Topic 0"))  # type: ignore[arg-type]
    assert [c.value for c in both.conditions] == ["Topic 0"]
    assert both.text_counts == {"quill": 12, "topic 0": 1}  # the rarest is searched first
    # among a few documents, a share says nothing: the test stays
    few = CorpusStore(tmp_path / "few.db")
    few.add_documents("faq", [Document(f"f{i}", "Quill answers.", "", "FAQ") for i in range(3)])
    small = SimpleNamespace(tools=ToolRegistry([CorpusSearchTool(few)]))
    kept = await _without_common_texts(small, plan("Quill"))  # type: ignore[arg-type]
    assert [c.value for c in kept.conditions] == ["Quill"]


async def test_which_items_count_reads_the_item_not_its_name() -> None:
    """A small model asked which items count often puts the property on the name column
    ("Greenhouse contains heated in winter"): the test reads the item's text, which holds its
    name; a test of another field, or one the question does not state, is kept or refused as
    before."""
    from agent.config import BudgetConfig, SearchConfig
    from agent.llm.scripted import ScriptedChatModel
    from agent.state import RunContext
    from agent.wide.planning import _selection

    question = (
        "Which of the garden's greenhouses are heated in winter? Each greenhouse's own page "
        "says so.\n\nFor each entry, provide:\n- Greenhouse: its name\n- Area: its floor area\n"
    )
    plan = TablePlan("greenhouse", [Column("Greenhouse"), Column("Area")], "Greenhouse", [], [])

    async def ask(reply: dict[str, str]) -> Condition | None:
        model = ScriptedChatModel([reply])
        ctx = RunContext(models={"planner": model}, tools=ToolRegistry([]),
                         budget=BudgetConfig(max_seconds=60), search=SearchConfig())  # fmt: skip
        found, _, failure = await _selection(ctx, question, plan)
        assert not failure
        return found

    named = await ask({"field": "Greenhouse", "test": "contains", "value": "heated in winter"})
    assert named == Condition(field="", test="contains", value="heated in winter")
    other = await ask({"field": "Heating", "test": "contains", "value": "heated in winter"})
    assert other == Condition(field="Heating", test="contains", value="heated in winter")
    assert await ask({"field": "Greenhouse", "test": "contains", "value": "glass roof"}) is None
