"""The table answer's sentences about conditions: only what happened to the rows shown."""

from __future__ import annotations

from agent.wide.render import condition_notes
from agent.wide.schemas import Condition
from agent.wide.table_plan import Column, TablePlan

PLAN = TablePlan(
    entity="vessel",
    columns=[Column("Vessel"), Column("Port")],
    key_column="Vessel",
    conditions=[
        Condition(field="Port", test="equals", value="Harbourtown"),
        Condition(field="", test="contains", value="deep water berth"),
    ],
    queries=["vessel"],
)


def enumeration(relaxed: bool) -> dict:
    return {
        "relaxed": relaxed,
        "dropped": [],
        "candidates": {
            "a": {"verdicts": ["relaxed", "pass"]},  # shown: its port only contains the name
            "b": {"verdicts": ["pass", "relaxed"]},  # not shown: the phrase says nothing of it
        },
    }


ROWS = {"a": {"status": "pass", "key": "Gull"}, "b": {"status": "fail", "key": "Tern"}}


def test_only_conditions_a_shown_row_passed_loosely_are_said_to_be_loosened() -> None:
    notes = condition_notes(PLAN, enumeration(relaxed=True), ROWS)
    assert "Port exactly 'Harbourtown'" in notes
    assert "deep water berth" not in notes  # no row shown passed it loosely


def test_nothing_is_said_to_be_loosened_when_the_tests_were_not() -> None:
    assert condition_notes(PLAN, enumeration(relaxed=False), ROWS) == ""
    shown_b = {**ROWS, "b": {"status": "pass", "key": "Tern"}}
    both = condition_notes(PLAN, enumeration(relaxed=True), shown_b)
    assert "'deep water berth' word for word" in both and "Harbourtown" in both
