"""Wide research over each shape of document rows come from (tests/agent/wide/shapes.py),
through the real graph: real LangGraph, real SQLite corpus store and tools, and a scripted model
whose replies are functions of the prompt it is shown."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agent import Researcher, ScriptedChatModel, load_settings
from agent.llm.base import Message
from tests.agent.wide.shapes import (
    NAVIGATION,
    SHAPES,
    Shape,
    advisory_changes,
    api_reference,
    contents_and_pages,
    doc,
    filtered_table,
    labelled_records,
    list_and_pages,
    noted_options,
    option_entries,
    reference_tables,
    release_notes,
)
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool

_FIELD_LINE = re.compile(r"^- (\w+): (.+?) \((?:text|number|date|url)\)(?: — .*)?$", re.M)


def found(pattern: str, text: str, flags: int = re.M) -> str:
    """The first group of `pattern`'s first match in `text` (which must match)."""
    match = re.search(pattern, text, flags)
    assert match, f"{pattern!r} not in {text[:200]!r}"
    return match.group(1)


def oracle(
    shape: Shape,
    plan: dict[str, Any] | None = None,
    lies: dict[str, dict[str, str]] | None = None,
    readings: dict[str, dict[str, str]] | None = None,
):
    """A model that plans `plan` (the shape's by default), fills a row by copying the shape's
    facts about it only when the excerpt it is shown states them (or, for the rows in `lies`,
    gives those values whatever the excerpt says), answers a condition check with the
    shape's quote for the row when the excerpt holds it (else: does not hold), and reads a
    condition against a table as `readings` says (condition text -> reply; else no column)."""
    readings = readings or {}

    def reply(messages: Sequence[Message]) -> str:
        system, user = messages[0].content, messages[-1].content
        if "You plan the research" in system:
            return json.dumps(plan or shape.plan)
        if "Say where the question says the items are listed" in system:
            return json.dumps({"listed_in": (plan or shape.plan).get("listed_in", "")})
        if "You match the columns" in system:
            return "{}"  # no table column holds an asked-for value by meaning alone
        if "Say which items it asks for" in system:
            default = {"field": "", "test": "contains", "value": ""}
            return json.dumps((plan or shape.plan).get("selection", default))
        if "matched no row of that table" in system:
            return json.dumps(readings.get(found(r"^Condition: (.+)$", user), {"column": ""}))
        excerpt = user.split("<excerpt", 1)[1]
        if "You fill one row" in system:
            row = found(r"^Row: (.+)$", user)
            known = shape.facts.get(row, {})
            told = (lies or {}).get(row, {})
            values: dict[str, Any] = {}
            for name, column in _FIELD_LINE.findall(user):
                value = told.get(column) or known.get(column)
                if value and (column in told or value in excerpt):
                    kind = next(c["type"] for c in shape.plan["columns"] if c["name"] == column)
                    values[name] = float(value.replace(",", "")) if kind == "number" else value
                else:
                    values[name] = None
            return json.dumps(values)
        if "You check one condition" in system:
            row = found(r"^Subject: (.+)$", user)
            quote = shape.quotes.get(row, "")
            if quote and quote in excerpt:
                return json.dumps({"quote": quote, "holds": True})
            return json.dumps({"quote": "", "holds": False})
        raise AssertionError(f"unexpected prompt: {system[:80]}")

    return reply


def make(
    tmp_path: Path,
    shape: Shape,
    plan: dict[str, Any] | None = None,
    *,
    traps: bool = False,
    lies: dict[str, dict[str, str]] | None = None,
    readings: dict[str, dict[str, str]] | None = None,
    **overrides: Any,
) -> tuple[Researcher, ScriptedChatModel]:
    store = shape.store(tmp_path, traps=traps)
    model = ScriptedChatModel([oracle(shape, plan, lies, readings)] * 200)
    settings = load_settings(data_dir=tmp_path / "data", **overrides)
    tools = ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)])
    researcher = Researcher(
        settings, models=model, tools=tools, checkpoint_path=tmp_path / "ckpt.db"
    )
    return researcher, model


def rows(result: Any, shape: Shape) -> set[tuple[str, ...]]:
    return {tuple(row[c] for c in shape.columns) for row in result.table}


def events(result: Any, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in result.events if e.type == kind]


def extraction_rows(model: ScriptedChatModel) -> list[str]:
    """The rows an extraction prompt was made for."""
    return [
        found(r"^Row: (.+)$", call[-1].content)
        for call in model.calls
        if "You fill one row" in call[0].content
    ]


def cited_urls(answer: str, key: str) -> set[str]:
    """The URLs the answer's sources line for row `key` names."""
    line = re.search(rf"^- {re.escape(key)}: (.+)$", answer, re.M)
    assert line, f"no sources line for {key!r} in:\n{answer}"
    return set(re.findall(r"\[\d+\] (\S+?)(?:,|$)", line.group(1)))


async def run_shape(
    tmp_path: Path, shape: Shape, question: str | None = None, **options: Any
) -> tuple[Any, ScriptedChatModel]:
    researcher, model = make(tmp_path, shape, **options)
    result = await researcher.arun(question or shape.question)
    assert result.stop_reason == "answered"
    return result, model


def assert_answer(result: Any, shape: Shape) -> None:
    assert rows(result, shape) == shape.expected
    assert len(result.table) == len(shape.expected)  # one row per entity
    fence = found(r"```markdown\n(.*?)\n```", result.answer, re.S)
    assert fence.splitlines()[0] == "| " + " | ".join(shape.columns) + " |"
    for key, urls in shape.cited.items():
        assert urls <= cited_urls(result.answer, key), key


# --- bugs found by these tests (agent/ is not edited here: see each reason) -----------------


@pytest.mark.parametrize(
    "name",
    list(SHAPES),
)
async def test_each_shape_gives_its_table(tmp_path: Path, name: str) -> None:
    shape = SHAPES[name]()
    result, _ = await run_shape(tmp_path, shape)
    assert_answer(result, shape)


async def test_table_rows_are_filtered_by_their_cells_with_no_model_call(tmp_path: Path) -> None:
    shape = filtered_table()
    result, model = await run_shape(tmp_path, shape)
    assert rows(result, shape) == shape.expected
    assert extraction_rows(model) == []  # Name and Since are the table's own cells
    assert {e["key"] for e in events(result, "row")} == {name for name, *_ in NAVIGATION}
    (plan,) = [c for c in model.calls if "You plan the research" in c[0].content]
    # the plan and where the rows are listed are the only calls
    assert len(model.calls) == 2 and model.calls[0] == plan
    assert "Say where the question says the items are listed" in model.calls[1][0].content


async def test_entry_cells_are_copied_from_prose_and_grounded(tmp_path: Path) -> None:
    shape = api_reference(heading="tidyup API functions")
    # the extractor invents a version for `restore`: its excerpt does not state 3.5
    result, model = await run_shape(tmp_path, shape, lies={"restore": {"Version": "3.5"}})
    table = {row["Function"]: row["Version"] for row in result.table}
    assert table["archive_old"] == "2.9"  # "This function was added in version 2.9."
    assert table["restore"] == ""  # the invented 3.5 is not kept
    assert not {"scan", "dry_run", "tidy_path"} & set(table)  # added before 2.5
    how = {e["key"]: e["how"]["Version"] for e in events(result, "row")}
    assert how["archive_old"] == "model"
    assert set(extraction_rows(model)) >= {"archive_old", "restore"}
    assert shape.documents[0].url in cited_urls(result.answer, "archive_old")


async def test_versions_compare_as_versions_not_decimals(tmp_path: Path) -> None:
    """2.10 is later than 2.5 (and than 2.9), though 2.10 < 2.5 read as a decimal number."""
    shape = api_reference(heading="tidyup API functions")
    result, _ = await run_shape(tmp_path, shape)
    assert_answer(result, shape)


async def test_release_dates_come_from_each_release_page(tmp_path: Path) -> None:
    shape = release_notes(heading="tidyup releases", labelled=True)
    result, _ = await run_shape(tmp_path, shape)
    assert_answer(result, shape)  # each row cites the history and its release's page
    history = shape.documents[0]
    listed = [e for e in events(result, "row") if e["source_id"].endswith(history.doc_id)]
    assert sorted(e["key"] for e in listed) == sorted(r for r, *_ in shape.expected)
    assert all(e["cells"]["Date"] == "" for e in listed)  # "- Release 3.2" states no date
    coverage = events(result, "coverage")
    # each release's own page was read as more evidence about its listed row (merged with
    # it), so no follow-up search is needed and no cell stays empty
    assert coverage[-1]["empty_cells"] == 0 and coverage[0]["followups"] == 0


async def test_a_date_stated_in_a_sentence_is_grounded(tmp_path: Path) -> None:
    shape = release_notes(heading="tidyup releases")
    result, _ = await run_shape(tmp_path, shape)
    assert_answer(result, shape)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(filtered_table, id="table"),
        pytest.param(option_entries, id="definitions"),
        pytest.param(list_and_pages, id="list"),
        pytest.param(lambda: release_notes(labelled=True), id="release list"),
    ],
)
async def test_the_page_that_holds_the_listing_is_no_row(tmp_path: Path, build: Any) -> None:
    shape = build()
    holder = shape.documents[0]  # each builder's first document holds the listing
    result, _ = await run_shape(tmp_path, shape)
    key = shape.columns[0]
    assert holder.title not in {e["key"] for e in events(result, "row")}
    assert holder.title not in {row[key] for row in result.table}
    assert rows(result, shape) == shape.expected


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(filtered_table, id="another table"),
        pytest.param(option_entries, id="faq page"),
        pytest.param(list_and_pages, id="tram page"),
        pytest.param(
            lambda: release_notes(heading="tidyup releases", labelled=True),
            id="upgrade guide",
        ),
    ],
)
async def test_a_distractor_stating_the_condition_is_no_row(tmp_path: Path, build: Any) -> None:
    shape = build()
    assert shape.traps
    result, _ = await run_shape(tmp_path, shape, traps=True)
    assert rows(result, shape) == shape.expected


async def test_list_rows_take_their_cells_from_each_entity_page(tmp_path: Path) -> None:
    shape = list_and_pages()
    result, model = await run_shape(tmp_path, shape)
    assert_answer(result, shape)
    # "Length: 340 m" on a bridge's page needs no model call: only the list items were asked
    assert set(extraction_rows(model)) <= {name for name, *_ in shape.expected}
    assert "Harbour Bridge" not in {row["Bridge"] for row in result.table}  # not over the Selka


async def test_a_condition_nothing_can_settle_is_stated_in_the_answer(tmp_path: Path) -> None:
    shape = labelled_records()
    plan = {
        **shape.plan,
        "conditions": [
            *shape.plan["conditions"],
            {"field": "Operator", "test": "equals", "value": "Harbour Board"},
        ],
    }
    asked = shape.question.replace("25 m.", "25 m and run by the Harbour Board.")
    assert asked != shape.question
    result, _ = await run_shape(tmp_path, shape, asked, plan=plan)
    assert rows(result, shape) == shape.expected
    assert "The condition Operator equals 'Harbour Board' could not be checked" in result.answer


@pytest.mark.parametrize("unverified", ["drop", "mark"])
async def test_unsettled_rows_are_dropped_or_marked(tmp_path: Path, unverified: str) -> None:
    """Greywater Light is on the North coast but its page states no height: with no targeted
    check left, its membership stays open."""
    shape = labelled_records()
    overrides: dict[str, Any] = {"wide.max_doubtful_checks": 0, "wide.unverified": unverified}
    result, _ = await run_shape(tmp_path, shape, **overrides)
    open_row = ("Greywater Light (unverified)", "", "1862")
    expected = shape.expected | ({open_row} if unverified == "mark" else set())
    assert rows(result, shape) == expected
    assert "1 further candidate row could not be verified" in result.answer


async def test_by_default_an_unsettled_row_is_checked_and_dropped(tmp_path: Path) -> None:
    shape = labelled_records()
    result, model = await run_shape(tmp_path, shape)
    assert rows(result, shape) == shape.expected
    checked = [
        found(r"^Subject: (.+)$", c[-1].content)
        for c in model.calls
        if "You check one condition" in c[0].content
    ]
    assert checked == ["Greywater Light"]  # its height: not stated, so not "more than 25"
    assert "could not be verified" not in result.answer


async def test_the_named_section_is_searched_first_and_its_table_gives_the_rows(
    tmp_path: Path,
) -> None:
    """The question names where its rows are listed: that place is searched before the
    common text the condition tests ("numeric", on most pages), and once its table is read the
    other searches are not needed; each example and its result come from one cell, split."""
    shape = reference_tables()
    result, model = await run_shape(tmp_path, shape)
    assert_answer(result, shape)
    searches = [e["arguments"]["query"] for e in events(result, "tool_call")]
    assert searches[0] == shape.plan["listed_in"]
    done = events(result, "enumerate")[-1]
    assert done["checked"] < 20, done  # not the thirty pages stating "numeric"
    assert extraction_rows(model) == []  # every cell read from the table itself


async def test_a_condition_worded_unlike_the_table_is_read_against_its_columns(
    tmp_path: Path,
) -> None:
    """The planner words the condition as the question does ("Purpose equals getting around
    a file"); no row states that, so the group is read against the table's columns once
    ("Category equals Navigation"), and the answer says how it was read."""
    shape = filtered_table()
    plan = {**shape.plan, "conditions": [
        {"field": "Purpose", "test": "equals", "value": "getting around a file"}]}  # fmt: skip
    question = shape.question.replace(
        "whose category is Navigation", "that helps with navigation, getting around a file"
    )
    reading = {"column": "Category", "test": "equals", "value": "Navigation"}
    condition = "Purpose equals 'getting around a file'"
    result, model = await run_shape(
        tmp_path, shape, question, plan=plan, readings={condition: reading}
    )
    assert rows(result, shape) == shape.expected
    assert "was read as Category equals 'Navigation'" in result.answer
    asked = [c for c in model.calls if "matched no row of that table" in c[0].content]
    assert len(asked) == 1  # one call for the table, whatever the number of its rows
    # a reading the table does not back (a value no cell holds) is not used: no rows
    wrong = {condition: {**reading, "value": "Movement"}}
    result, _ = await run_shape(tmp_path / "again", shape, question, plan=plan, readings=wrong)
    assert result.table == []


async def test_a_group_no_row_of_the_sure_table_meets_drops_though_a_news_entry_passed(
    tmp_path: Path,
) -> None:
    """ "shipped" is stated by no row of the plugin table, only by a dated news entry that
    also mentions Navigation. Once the exact searches have listed every document, the group
    at odds with the table drops (the answer says so), and the table's rows are the answer,
    not the news entry."""
    shape = filtered_table()
    entries = [
        "## 2024-03-01\n\nQuill 3.1 has shipped. The Navigation plugins load twice as fast.",
        "## 2024-01-10\n\nShipped plugins can now be switched off one by one.",
        "## 2023-11-20\n\nQuill 3.0 is out.",
    ]
    news = doc("quill/news", "Quill news", "\n\n".join(entries))
    shape.documents.append(news)
    plan = {**shape.plan, "conditions": [
        {"field": "", "test": "contains", "value": "Navigation"},
        {"field": "", "test": "contains", "value": "shipped"}]}  # fmt: skip
    question = shape.question.replace("bundled", "shipped")
    result, _ = await run_shape(tmp_path, shape, question, plan=plan)
    assert rows(result, shape) == shape.expected
    assert "the text contains 'shipped' could not be checked" in result.answer
    assert news.url not in result.answer


async def test_which_items_count_is_asked_apart_when_the_plan_kept_no_test(
    tmp_path: Path,
) -> None:
    """The planner only restated the place ("Section equals 4.1"): which items count is asked
    in a call of its own, and its test ("Returns equals numeric") reads what each row's
    signatures give."""
    shape = reference_tables()
    plan = {**shape.plan, "conditions": [{"field": "Section", "test": "equals", "value": "4.1"}],
            "selection": {"field": "Returns", "test": "equals", "value": "numeric"}}  # fmt: skip
    result, model = await run_shape(tmp_path, shape, plan=plan)
    assert_answer(result, shape)
    asked = [c for c in model.calls if "Say which items it asks for" in c[0].content]
    assert len(asked) == 1
    planned = events(result, "table_plan")[0]
    assert any("asked which items count" in note for note in planned["notes"])
    # a reply restating the place tests nothing, whatever field it names: every listed
    # function is a row
    again = {**plan, "selection": {"field": "Function", "test": "contains", "value": "4.1"}}
    result, _ = await run_shape(tmp_path / "again", shape, plan=again)
    assert len(result.table) == 4


async def test_entries_of_contents_are_settled_on_their_own_pages(tmp_path: Path) -> None:
    """Appendix C's contents name the tools and say nothing of them: each entry is read on its
    own page (found by its name), where "crew-safe" holds or not; the contents are where the
    rows come from, the pages what is true of them."""
    shape = contents_and_pages()
    result, _ = await run_shape(tmp_path, shape)
    assert_answer(result, shape)
    rejected = {e["key"] for e in events(result, "row") if e.get("rejected")}
    assert rejected == {"gaugelog", "chartgen"}
    read = {e["arguments"]["id"] for e in events(result, "tool_call") if e["tool"] == "read"}
    assert {"shapes:kit/gaugelog", "shapes:kit/tidecalc", "shapes:kit/chartgen"} <= read
    assert "not needed: a listing holds the rows" in str(events(result, "enumerate")[-1])


async def test_an_entry_of_contents_without_a_page_of_its_own_stays_unverified(
    tmp_path: Path,
) -> None:
    """An entry whose own page the corpus lacks: its line states nothing a check could quote,
    so no model check is spent on it and it is left out as unverified (the answer says so)."""
    shape = contents_and_pages()
    shape.documents = [d for d in shape.documents if d.doc_id != "kit/berthplan"]
    shape.expected = {row for row in shape.expected if row[0] != "berthplan"}
    result, model = await run_shape(tmp_path, shape)
    assert rows(result, shape) == shape.expected
    assert "1 further candidate row could not be verified" in result.answer
    checked = [c[-1].content for c in model.calls if "You check one condition" in c[0].content]
    assert not [c for c in checked if "berthplan" in c]


async def test_the_questions_own_words_tell_the_entries_apart_when_no_test_was_planned(
    tmp_path: Path,
) -> None:
    """The planner kept no test of the options (its one bound was only the column's
    example): the question's words that some entries of the sure listing state ("works only
    on gauges with a tide module fitted", in each option's "Note" callout) are the test, and
    the answer says so; asked for every option, the same listing gives all six."""
    shape = noted_options()
    result, _ = await run_shape(tmp_path, shape)
    assert_answer(result, shape)
    assert "Rows were kept when their own entry states 'works only on gauges" in result.answer
    assert "3 of 6 entries" in events(result, "enumerate")[-1]["criterion"]
    every = "According to the gaugectl reference page, list every option of gaugectl."
    result, _ = await run_shape(tmp_path / "every", shape, question=every + shape.question[
        shape.question.index("\n\n"):])  # fmt: skip
    assert len(result.table) == 6
    assert "Rows were kept" not in result.answer


async def test_items_tagged_with_identifiers_are_rows_dated_by_their_page(tmp_path: Path) -> None:
    """A release page's changes end with the advisory they fix ("(QSA-2023-0011)"): each tag
    is a row (not the page, nor an untagged change), its release date is the page's own
    "Release date:" line, and the year the question places the releases in is tested though
    the planner left it out."""
    shape = advisory_changes()
    result, model = await run_shape(tmp_path, shape)
    assert_answer(result, shape)
    planned = events(result, "table_plan")[0]
    assert "added the year the question states: Release Date equals '2023'" in planned["notes"]
    assert not [k for k in extraction_rows(model) if not k.startswith("QSA-")]
    assert "QSA-2022-0107" not in result.answer and "QSA-2024-0003" not in result.answer
