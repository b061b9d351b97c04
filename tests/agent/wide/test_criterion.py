"""The question's own words as the rows' test when the plan kept none (agent/wide/criterion.py)."""

from __future__ import annotations

from agent.wide.criterion import apply_criterion, criterion
from agent.wide.rows import STRONG_LISTING_SCORE, CandidateRow, RowKind
from agent.wide.table_plan import Column, TablePlan
from agent.wide.verdicts import GroupVerdict

PLAN = TablePlan(
    entity="setting",
    columns=[Column("Setting"), Column("Default", description="its default value")],
    key_column="Setting",
    conditions=[],
    queries=["kiln settings"],
    scope="the kiln controller manual",
)
PAUSED = "It is read only while the firing is paused."
ENTRIES = [
    f"max_heat (integer)\n\nThe hottest the kiln may get. {PAUSED}",
    "fan_speed (integer)\n\nHow fast the fan turns. The default value is 3.",
    f"door_lock (boolean)\n\nLocks the door while firing. {PAUSED}",
    "log_file (string)\n\nWhere the controller writes its log. The default value is kiln.log.",
    "ramp (integer)\n\nDegrees per hour while heating.",
]
QUESTION = (
    "Which settings of the kiln controller manual take effect only while the firing is "
    "paused?\n\n"
    "For each entry, provide:\n- Setting: its name\n- Default: its default value"
)


def test_the_longest_run_of_the_questions_words_some_entries_state() -> None:
    found = criterion(QUESTION, PLAN, ENTRIES)
    assert found is not None
    assert found.words == ("only", "while", "firing", "paused")
    assert found.phrase == "only while the firing is paused"  # as the entry writes it
    assert (found.stated_by, found.entries) == (2, 5)


def test_words_every_entry_or_no_entry_states_tell_nothing_apart() -> None:
    every = [e if e.endswith(PAUSED) else f"{e} {PAUSED}" for e in ENTRIES]
    assert criterion(QUESTION, PLAN, every) is None
    assert criterion("List every setting the door panel shows.", PLAN, ENTRIES) is None


def test_words_that_name_the_columns_or_the_place_are_no_test() -> None:
    """Half the entries state "default value", as the question asks for the column: that is
    what a cell holds, not which rows count; nor does "kiln controller" (the place)."""
    question = "List every setting of the kiln controller manual with its default value."
    assert criterion(question, PLAN, ENTRIES) is None


def test_too_few_entries_or_a_run_broken_by_a_clause_end() -> None:
    assert criterion(QUESTION, PLAN, ENTRIES[:3]) is None
    broken = [e.replace("only while the firing", "only. While the firing") for e in ENTRIES]
    found = criterion(QUESTION, PLAN, broken)
    assert found is None or "." not in found.phrase


def _candidates() -> dict[str, dict]:
    candidates = {}
    for index, text in enumerate(ENTRIES):
        row = CandidateRow(f"d#{index}", "d", text.split()[0], RowKind.DEFINITIONS, 100 * index,
                           100 * index + len(text), score=STRONG_LISTING_SCORE)  # fmt: skip
        candidates[row.row_id] = {"row": row.to_state(), "verdicts": [], "evidence": text}
    page = CandidateRow("p", "p", "kiln guide", RowKind.PAGE, 0, 10)
    candidates["p"] = {"row": page.to_state(), "verdicts": []}
    return candidates


def test_applied_it_becomes_the_plans_test_and_judges_every_candidate() -> None:
    plan = TablePlan.from_state(PLAN.to_state())
    enumeration = {"candidates": _candidates()}
    found = apply_criterion(QUESTION, plan, enumeration, set(enumeration["candidates"]))
    assert found is not None
    assert plan.criterion == found.phrase
    assert [(c.field, c.test, c.value) for c in plan.conditions] == [("", "contains", found.phrase)]
    verdicts = {k: v["verdicts"] for k, v in enumeration["candidates"].items()}
    assert verdicts == {
        "d#0": [GroupVerdict.PASS],
        "d#1": [GroupVerdict.FAIL],
        "d#2": [GroupVerdict.PASS],
        "d#3": [GroupVerdict.FAIL],
        "d#4": [GroupVerdict.FAIL],
        "p": [GroupVerdict.UNKNOWN],  # a page's text is not kept: its fill settles it
    }


def test_a_plan_that_tests_its_rows_is_left_as_it_is() -> None:
    enumeration = {"candidates": _candidates()}
    kept = set(enumeration["candidates"])
    plan_with_test = TablePlan.from_state(
        {**PLAN.to_state(), "conditions": [{"field": "", "test": "contains", "value": "fan"}]}
    )
    assert apply_criterion(QUESTION, plan_with_test, enumeration, kept) is None
    assert all(not v["verdicts"] for v in enumeration["candidates"].values())
