"""A condition read against a sure table's columns (agent/wide/table_conditions.py)."""

from __future__ import annotations

from agent.wide.membership import groups
from agent.wide.rows import CandidateRow, RowKind, candidate_rows
from agent.wide.schemas import Condition
from agent.wide.table_conditions import TableReading, failing_groups, stem_reading, usable
from agent.wide.table_plan import Column, TablePlan
from agent.wide.verdicts import GroupVerdict, row_verdicts
from retriever.parse_text import parse_text

SENSORS = """## Station sensors

Table 2. Sensors of the Skerrow station

Sensor | Unit | Local | Remote | Notes
S1 barometer | hPa | Yes | No |
S2 tide gauge | m | Yes | Yes | calibrated yearly
S3 anemometer | m/s | Yes | No |
S4 rain gauge | mm | Yes | Yes | heated in winter
"""
QUESTION = "Which Skerrow station sensors can only be read on site, never remotely?"
PLAN = TablePlan("sensor", [Column("Sensor"), Column("Unit")], "Sensor",
                 [Condition(field="Access", test="equals", value="on site")], [])  # fmt: skip


def rows() -> list[CandidateRow]:
    return candidate_rows(PLAN, QUESTION, "doc", SENSORS, "Station sensors",
                          parse_text(SENSORS, title="Station sensors"))  # fmt: skip


def test_the_tests_a_reading_makes_of_a_cell() -> None:
    s1, s2, _, s4 = rows()
    assert TableReading("Remote", "equals", "no").holds(s1)
    assert not TableReading("Remote", "equals", "No").holds(s2)
    assert TableReading("Notes", "contains", "yearly").holds(s2)
    assert TableReading("Notes", "empty").holds(s1) and not TableReading("Notes", "empty").holds(s4)
    assert TableReading("Notes", "not empty").holds(s4)
    assert TableReading("Notes", "empty").describe() == "Notes is empty"
    assert TableReading("Remote", "equals", "No").describe() == "Remote equals 'No'"


def test_a_group_no_row_of_a_sure_table_meets_as_worded_is_failing() -> None:
    found = rows()
    assert found[0].score >= 4.0 and found[0].kind is RowKind.TABLE
    condition_groups = groups(PLAN.conditions)
    verdicts = [row_verdicts(condition_groups, r, SENSORS, "Station sensors", []) for r in found]
    assert all(v == [GroupVerdict.FAIL] for v in verdicts)  # "on site" is in no row
    header = list(found[0].values)
    assert failing_groups(condition_groups, header, verdicts) == [0]
    # a group reading a column of the table is that column's test: nothing to read again
    by_column = [[Condition(field="Remote", test="equals", value="never")]]
    assert failing_groups(by_column, header, verdicts) == []
    # rows that fail two groups are not the question's rows: neither is read again
    two = [*condition_groups, [Condition(field="Region", test="equals", value="north")]]
    both = [[GroupVerdict.FAIL, GroupVerdict.FAIL] for _ in found]
    assert failing_groups(two, header, both) == []


def test_a_reading_is_used_only_when_the_table_and_the_question_back_it() -> None:
    found, group = rows(), groups(PLAN.conditions)[0]
    assert usable(TableReading("Remote", "equals", "No"), found, QUESTION, group)
    # a value no cell of the column holds
    assert not usable(TableReading("Remote", "equals", "Never"), found, QUESTION, group)
    # a column the table lacks
    assert not usable(TableReading("Access", "equals", "Yes"), found, QUESTION, group)
    # keeps every row (selects nothing) or none
    assert not usable(TableReading("Local", "equals", "Yes"), found, QUESTION, group)
    # shares no word with the question or the condition ("Unit", "hPa")
    assert not usable(TableReading("Unit", "equals", "hPa"), found, QUESTION, group)
    assert usable(TableReading("Notes", "empty"), found, "Which sensors have no notes?", group)


def test_a_reading_must_name_a_column_or_value_the_question_states() -> None:
    found, group = rows(), groups(PLAN.conditions)[0]
    # "Notes" is no word of the question and "yearly" no value it states
    assert not usable(TableReading("Notes", "contains", "yearly"), found, QUESTION, group)
    stated = QUESTION.replace("never remotely", "never remotely, nor yearly")
    assert usable(TableReading("Notes", "contains", "yearly"), found, stated, group)
    # a stem shared with the question ("remotely" / "Remote")
    assert usable(TableReading("Remote", "equals", "No"), found, QUESTION, group)


def test_a_group_of_numbers_is_never_read_again() -> None:
    found = rows()
    numbers = [[Condition(field="Release", test="equals", value="15")]]
    verdicts = [[GroupVerdict.FAIL] for _ in found]
    assert failing_groups(numbers, list(found[0].values), verdicts) == []


def test_a_word_the_table_writes_in_another_form_is_read_without_the_model() -> None:
    """ "Calibration equals yearly-calibrated": the table's Notes say "calibrated yearly"; the
    stem of "calibrated" finds the column and the form, which keeps some rows, not all."""
    found = rows()
    group = [Condition(field="Calibration", test="equals", value="yearly-calibrated")]
    question = "Which Skerrow station sensors are yearly-calibrated?"
    reading = stem_reading(group, list(found[0].values), found, question)
    assert reading is not None and reading.column == "Notes"
    assert reading.value in ("yearly", "calibrated")  # each a form of a word of the value
    assert [r.key for r in found if reading.holds(r)] == ["S2 tide gauge"]
    # no form of the word in the table: nothing to read
    other = [Condition(field="Power", test="equals", value="solar-powered")]
    assert stem_reading(other, list(found[0].values), found, "Which are solar-powered?") is None
