"""Which candidates become rows (agent/wide/enumeration.py `kept_rows`): the answer's rows are
of one kind."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from agent.wide.enumeration import (
    _apply_drops,
    _enumeration_stop,
    _groups_to_drop,
    enumeration_queries,
    kept_rows,
    named_like_example,
)
from agent.wide.membership import groups
from agent.wide.rows import STRONG_LISTING_SCORE, CandidateRow, RowKind
from agent.wide.schemas import Condition
from agent.wide.table_plan import Column, TablePlan


def entry(
    row_id: str, key: str, kind: RowKind, score: float, verdict: str, in_scope: bool = False
) -> dict[str, Any]:
    row = CandidateRow(row_id, row_id.split("#")[0], key, kind, 0, 1, score=score,
                       in_scope=in_scope)  # fmt: skip
    return {"row": row.to_state(), "verdicts": [verdict]}


def enumeration(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidates": {e["row"]["row_id"]: e for e in entries},
        "dropped": [],
        "relaxed": False,
    }


def test_a_sure_listing_keeps_only_its_rows_and_what_is_about_them() -> None:
    strong = STRONG_LISTING_SCORE + 1
    found = enumeration(
        entry("history#1", "Release 2.1", RowKind.TABLE, strong, "pass"),
        entry("history#2", "Release 2.0", RowKind.TABLE, strong, "pass"),
        entry("news#5", "2021-03-04", RowKind.TABLE, 2.0, "pass"),  # a weaker table elsewhere
        entry("faq#9", "Overview", RowKind.SECTIONS, 2.0, "pass"),  # a page's chapters
        entry("release-2-1", "Release 2.1", RowKind.PAGE, 0.0, "pass"),  # the entity's page
        entry("guide", "Upgrading", RowKind.PAGE, 0.0, "pass"),  # a page of another kind
    )
    assert kept_rows(found) == {"history#1", "history#2", "release-2-1"}


def test_without_a_sure_listing_pages_stay_rows_when_they_outnumber_listed_rows() -> None:
    found = enumeration(
        entry("a", "Alder", RowKind.PAGE, 0.0, "pass"),
        entry("b", "Birch", RowKind.PAGE, 0.0, "pass"),
        entry("c#1", "Cedar", RowKind.LIST, 2.0, "pass"),
    )
    assert kept_rows(found) == {"a", "b", "c#1"}
    weak_wins = enumeration(
        entry("a", "Alder", RowKind.PAGE, 0.0, "pass"),
        entry("c#1", "Cedar", RowKind.LIST, 2.0, "pass"),
        entry("c#2", "Alder", RowKind.LIST, 2.0, "pass"),
    )
    assert kept_rows(weak_wins) == {"a", "c#1", "c#2"}  # the page is about a listed row


def test_rows_from_the_place_the_question_names_win() -> None:
    """The question names the release notes' list: its rows (and their own pages) are the
    rows, though a manual's contents elsewhere is a listing as sure; without any candidate
    from the named place, nothing is taken away."""
    strong = STRONG_LISTING_SCORE + 1
    named = enumeration(
        entry("notes#1", "Release 2.1", RowKind.LIST, 3.0, "pass", in_scope=True),
        entry("notes#2", "Release 2.0", RowKind.LIST, 3.0, "pass", in_scope=True),
        entry("contents#1", "Getting Started", RowKind.LIST, strong, "pass"),
        entry("contents#2", "Tutorial", RowKind.LIST, strong, "pass"),
        entry("release-2-1", "Release 2.1", RowKind.PAGE, 0.0, "pass"),
        entry("faq", "Questions", RowKind.PAGE, 0.0, "pass"),
    )
    assert kept_rows(named) == {"notes#1", "notes#2", "release-2-1"}
    failing = enumeration(
        entry("notes#1", "Release 2.1", RowKind.LIST, 3.0, "fail", in_scope=True),
        entry("contents#1", "Getting Started", RowKind.LIST, strong, "pass"),
    )
    assert kept_rows(failing) == {"contents#1"}


def test_a_slow_plan_leaves_the_enumeration_a_first_page() -> None:
    """The enumeration's share of the time counts from the run's start; a plan that took it
    all still lets the enumeration read one page of candidates before it stops."""
    ctx = SimpleNamespace(
        wide=SimpleNamespace(max_candidates=100, enumeration_share=0.35),
        budget=SimpleNamespace(max_seconds=100.0),
        started=time.monotonic() - 50,
        seconds_left=lambda: 50.0,
    )
    assert _enumeration_stop(ctx, {"documents": {}}) is None  # type: ignore[arg-type]
    reason = _enumeration_stop(ctx, {"documents": {"d1": {}}})  # type: ignore[arg-type]
    assert reason == "enumeration time budget reached (35 s)"
    ctx.seconds_left = lambda: 0.0
    assert _enumeration_stop(ctx, {"documents": {}}) == "time budget reached (100 s)"  # type: ignore[arg-type]


def test_the_rarest_conditions_text_is_searched_first() -> None:
    """Every row must state a text of each group: the search for the rarest lists every
    candidate in the fewest pages, so it runs first (a common section name last)."""
    plan = TablePlan("plugin", [Column("Plugin")], "Plugin", [
        Condition(field="Section", test="equals", value="tools"),
        Condition(field="Description", test="contains", value="Quill"),
    ], ["plugin"], text_counts={"tools": 900, "quill": 12})  # fmt: skip
    assert [(q["query"], q["exact"]) for q in enumeration_queries(plan)] == [
        ("Quill", True), ("tools", True), ("plugin", False)]  # fmt: skip
    plan.text_counts = {}  # not counted (the web): the plan's order
    assert [q["query"] for q in enumeration_queries(plan)][:2] == ["tools", "Quill"]


def two_groups(row_id: str, kind: RowKind, score: float, verdicts: list[str]) -> dict[str, Any]:
    found = entry(row_id, row_id, kind, score, verdicts[0])
    return {**found, "verdicts": verdicts}


def test_a_group_rejecting_every_row_of_a_sure_listing_is_dropped_though_a_page_passed() -> None:
    """A dated news entry states any word somewhere: its passing is no evidence that a group
    which rejects every row of the sure listing (and nothing else does) fits the question."""
    sure = STRONG_LISTING_SCORE + 1
    found = enumeration(
        two_groups("list#1", RowKind.TABLE, sure, ["pass", "fail"]),
        two_groups("list#2", RowKind.TABLE, sure, ["pass", "fail"]),
        two_groups("list#3", RowKind.TABLE, sure, ["pass", "fail"]),
        two_groups("news#4", RowKind.SECTIONS, 2.0, ["pass", "pass"]),
    )
    assert _groups_to_drop(found) == [1]
    # a page about one entity meeting every group is evidence the group fits: no drop
    found["candidates"]["page"] = two_groups("page", RowKind.PAGE, 0.0, ["pass", "pass"])
    assert _groups_to_drop(found) == []
    del found["candidates"]["page"]
    found["candidates"]["list#3"]["verdicts"] = ["pass", "pass"]  # the listing has a row
    assert _groups_to_drop(found) == []
    weak = enumeration(
        two_groups("list#1", RowKind.TABLE, 2.0, ["pass", "fail"]),
        two_groups("list#2", RowKind.TABLE, 2.0, ["pass", "fail"]),
        two_groups("list#3", RowKind.TABLE, 2.0, ["pass", "fail"]),
        two_groups("news", RowKind.PAGE, 0.0, ["pass", "pass"]),
    )
    assert _groups_to_drop(weak) == []  # a row passed, and no sure listing says otherwise


def test_a_wildcard_versions_search_is_ordered_by_its_conditions_count() -> None:
    plan = TablePlan("fix", [Column("Fix")], "Fix", [
        Condition(field="Status", test="equals", value="fixed"),
        Condition(field="Release", test="contains", value="4.12.x"),
    ], [], text_counts={"fixed": 300, "4.12.x": 9})  # fmt: skip
    assert [q["query"] for q in enumeration_queries(plan)] == ["4.12", "fixed"]


def test_rows_named_unlike_an_identifier_example_are_left_out_when_some_are_named_so() -> None:
    found = enumeration(
        entry("notes#1", "Release 4.2", RowKind.SECTIONS, 3.0, "pass"),
        entry("notes#2", "Release 4.10", RowKind.SECTIONS, 3.0, "pass"),
        entry("log#7", "Fix the tab bar on small screens", RowKind.LIST, 3.0, "pass"),
        entry("notes#3", "Release 5", RowKind.SECTIONS, 3.0, "pass"),
        entry("log#8", "Raise the tab limit from 62 to 125", RowKind.LIST, 3.0, "pass"),
    )
    release = Column("Release", "text", 'the release as titled, e.g. "Release 3.1"')
    plan = TablePlan("release", [release, Column("Date")], "Release", [], [])
    kept = set(found["candidates"])
    # "Release 5" is a release; "... from 62 to 125" holds a word and a number, in a sentence
    assert named_like_example(found, plan, kept) == {"notes#1", "notes#2", "notes#3"}
    plain = TablePlan("release", [Column("Release"), Column("Date")], "Release", [], [])
    assert named_like_example(found, plain, kept) == kept  # no example: nothing to go by
    assert named_like_example(found, plan, {"log#7"}) == {"log#7"}  # none named so: all stay


def test_a_group_a_page_meets_while_it_awaits_its_cells_is_not_dropped() -> None:
    """No candidate passes yet: a novel's page meets "contains 'novel by'" and awaits its
    year (a column its cells will give); the names in its cast-like sentences fail the text
    test. The text test is not at odds with the question; without such a page it is."""
    plan = TablePlan("novel", [Column("Novel"), Column("Year", "number")], "Novel",
                     [Condition(field="Year", test="at_least", value="1960"),
                      Condition(field="", test="contains", value="novel by")], [])  # fmt: skip

    def entry(kind: RowKind, verdicts: list[str]) -> dict[str, Any]:
        row = CandidateRow("r", "doc", "name", kind, 0, 10)
        return {"row": row.to_state(), "verdicts": verdicts}

    def enumeration(with_page: bool) -> dict[str, Any]:
        names = {f"s{i}": entry(RowKind.SENTENCE, ["unknown", "fail"]) for i in range(5)}
        page = {"p": entry(RowKind.PAGE, ["unknown", "pass"])} if with_page else {}
        return {"candidates": {**names, **page}, "dropped": [], "queries": [], "relaxed": False}

    kept = enumeration(with_page=True)
    _apply_drops(kept, groups(plan.conditions), {}, plan.columns)
    assert kept["dropped"] == []
    alone = enumeration(with_page=False)
    _apply_drops(alone, groups(plan.conditions), {}, plan.columns)
    assert alone["dropped"] == [1]
