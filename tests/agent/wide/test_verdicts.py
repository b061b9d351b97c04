"""Membership of candidate rows from their own evidence (agent/wide/verdicts.py)."""

from __future__ import annotations

from dataclasses import replace

from agent.wide.membership import groups
from agent.wide.rows import STRONG_LISTING_SCORE, CandidateRow, candidate_rows
from agent.wide.schemas import Condition
from agent.wide.table_plan import Column, TablePlan
from agent.wide.verdicts import (
    GroupVerdict,
    RowStatus,
    group_verdict,
    names_value,
    row_status,
    row_verdicts,
    states_most_words,
)
from retriever.parse_text import parse_text

TABLE = """## Reserved words

Every word of the Quill macro language and how two dialects treat it.

Word | Quill | Classic
ALPHA | reserved | reserved
BETA |  | reserved
GAMMA | non-reserved |
DELTA | reserved |
"""


def verdicts_for(conditions: list[Condition], heading_strong: bool = False) -> dict[str, str]:
    plan = TablePlan("word", [Column("Word"), Column("Quill"), Column("Classic")], "Word",
                     conditions, [])  # fmt: skip
    rows = candidate_rows(
        plan, "Which words does Quill reserve?", "doc", TABLE, "Quill words",
        parse_text(TABLE, title="Quill words"),
    )  # fmt: skip
    out = {}
    for row in rows:
        found = row_verdicts(groups(plan.conditions), row, TABLE, "Quill words", [])
        out[row.key] = row_status([v.value for v in found], [], False).value
    return out


def test_a_test_of_a_column_the_row_leaves_empty_fails() -> None:
    """BETA's Quill cell is empty: "Quill contains reserved" must not pass on the "reserved"
    of another column."""
    got = verdicts_for([Condition(field="Quill", test="contains", value="reserved")])
    assert got == {"ALPHA": "pass", "BETA": "fail", "GAMMA": "pass", "DELTA": "pass"}


def test_equals_reads_the_cell_exactly() -> None:
    got = verdicts_for([Condition(field="Quill", test="equals", value="reserved")])
    assert got["ALPHA"] == got["DELTA"] == "pass"
    assert got["BETA"] == "fail"
    assert got["GAMMA"] == "fail"  # "non-reserved" contains the word but does not equal it


def test_a_field_the_rows_do_not_have_is_read_from_their_text() -> None:
    got = verdicts_for([Condition(field="Name", test="contains", value="GAMMA")])
    assert got == {"ALPHA": "fail", "BETA": "fail", "GAMMA": "pass", "DELTA": "fail"}


def test_alternatives_stay_alternatives_when_read_from_the_row_text() -> None:
    """A test "Release equals 1.2.0 or 1.2.1" of a field the rows lack is read from each row's text,
    still as alternatives: a row stating one of them passes."""
    text = (
        "Ticket | Fix | Notes\nT-1 | 1.2.0 (2020-01-02) | crash\n"
        "T-2 | 1.2.1 | leak\nT-3 | 1.3.0 | hang\n"
    )
    conditions = [Condition(field="Release", test="equals", value=v) for v in ("1.2.0", "1.2.1")]
    plan = TablePlan("ticket", [Column("Ticket"), Column("Release")], "Ticket", conditions, [])
    rows = candidate_rows(plan, "Which tickets were fixed?", "doc", text, "Tickets",
                          parse_text(text, title="Tickets"))  # fmt: skip
    got = {
        row.key: row_status(
            [v.value for v in row_verdicts(groups(conditions), row, text, "Tickets", [])],
            [],
            False,
        ).value
        for row in rows
    }
    assert got == {"T-1": "pass", "T-2": "pass", "T-3": "fail"}


def test_a_phrase_a_row_words_differently_passes_only_read_loosely() -> None:
    """ "acts as a wrapper around a C interface" against an entry that says "is a thin wrapper
    around the C-language interface": not word for word (RELAXED), while an entry without
    most of its words fails; a whole page, where any words are somewhere, is not read so."""
    text = (
        "## Functions\n\n"
        "spin(X)\n\n  The spin(X) function is a thin wrapper around the C-language interface "
        "quill_spin().\n\n"
        "fold(X)\n\n  The fold(X) function folds X into a smaller value than before.\n\n"
        "trim(X)\n\n  The trim(X) function removes the spaces at both ends of X.\n"
    )
    condition = Condition(field="", test="contains", value="wrapper around a C interface")
    plan = TablePlan("function", [Column("Function")], "Function", [condition], [])
    rows = candidate_rows(plan, "Which functions wrap a C interface?", "doc", text,
                          "Functions", parse_text(text, title="Functions"))  # fmt: skip
    got = {
        row.key: row_verdicts([[condition]], row, text, "Functions", [])[0].value for row in rows
    }
    assert got == {"spin": "relaxed", "fold": "fail", "trim": "fail"}
    assert row_status(["relaxed"], [], relaxed=False).value == "fail"
    assert row_status(["relaxed"], [], relaxed=True).value == "pass"
    page = group_verdict([condition], text, [], "Functions")
    assert page.value == "fail"  # a page's words are no row's statement
    assert states_most_words("wrapper around a C interface", "wraps the C interface") is False


def test_the_caption_of_a_sure_listing_states_what_its_rows_are() -> None:
    """ "Category equals gauge function" of a row in a table captioned "Gauge Functions": the
    field is no column of the row, so it reads as text, and the caption of a listing sure to
    hold the rows states it (in the plural)."""
    cells = "\n\n".join(
        f"{name} ( x real ) → real\n\n{what}\n\n{name}(1) → 2"
        for name, what in [("pressure", "Water pressure"), ("salinity", "Salt content"),
                           ("tide", "Tide height")]
    )  # fmt: skip
    text = (
        "## 4.1. Sensors\n\nTable 4.1. Gauge Functions\n\nFunction\n\nDescription\n\n"
        f"Example\n\n{cells}\n"
    )
    plan = TablePlan("function", [Column("Function"), Column("Description"), Column("Example")],
                     "Function", [Condition(field="Category", test="equals",
                                            value="gauge function")], [])  # fmt: skip
    rows = candidate_rows(plan, "List every gauge function.", "doc", text, "Sensors",
                          parse_text(text, title="Sensors"))  # fmt: skip
    assert len(rows) == 3 and rows[0].score >= 4.0
    for row in rows:
        assert row_verdicts(groups(plan.conditions), row, text, "Sensors", []) == ["pass"]
    assert names_value("Table 4.1. Gauge Functions", "gauge function")
    assert not names_value("Table 4.1. Gauge Functions", "function gauge")
    assert not names_value("Guide to the C/Rust Interface", "C interface")


ALIASES = """## 4.2. Tide functions

Table 4.2. Tide Functions

Function

Description

Example(s)

tide_height ( at timestamp ) → numeric

tide ( at timestamp ) → numeric

Tide height above chart datum at a time

tide_height('2024-06-01 12:00') → 3.4

tide_label ( at timestamp ) → text

Name of the tide at a time, with its numeric code

tide_label('2024-06-01 12:00') → flood

tide_count ( day date ) → integer

tide_count ( day date, port text ) → integer

Number of high tides on a day

tide_count('2024-06-01') → 2
"""


def test_a_result_type_test_reads_what_the_rows_signatures_give() -> None:
    """ "Result Type equals numeric": a row passes when one of its signatures gives numeric,
    not when "numeric" is only somewhere in its text; a row naming two functions (aliases)
    is a row for each."""
    numeric = Condition(field="Result Type", test="equals", value="numeric")
    plan = TablePlan("function", [Column("Function"), Column("Example")], "Function", [numeric], [])
    structure = parse_text(ALIASES, title="Tide functions")
    question = "Which tide functions return numeric?"
    rows = candidate_rows(plan, question, "doc", ALIASES, "Tide functions", structure)
    assert [r.key for r in rows] == ["tide_height", "tide", "tide_label", "tide_count"]
    passed = [
        r.key
        for r in rows
        if row_verdicts(groups(plan.conditions), r, ALIASES, "", []) == [GroupVerdict.PASS]
    ]
    assert passed == ["tide_height", "tide"]


def test_an_entry_of_contents_no_group_settles_stays_open() -> None:
    """A candidate none of whose groups passes is no candidate, unless it is an entry of
    contents: its own page is where its conditions are stated."""
    unknown = [GroupVerdict.UNKNOWN.value]
    assert row_status(unknown, [], False) is RowStatus.FAIL
    assert row_status(unknown, [], False, pointer=True) is RowStatus.UNKNOWN
    failed = [GroupVerdict.FAIL.value, GroupVerdict.UNKNOWN.value]
    assert row_status(failed, [], False, pointer=True) is RowStatus.FAIL


def listed(
    text: str, title: str, question: str, columns: tuple[str, str], conditions: list[Condition]
) -> list[CandidateRow]:
    """The candidate rows a text of our own gives a plan of two columns, keyed by the first."""
    plan = TablePlan(columns[0].lower(), [Column(c) for c in columns], columns[0], conditions, [])
    return candidate_rows(plan, question, "doc", text, title, parse_text(text, title=title))


def first_verdicts(rows: list[CandidateRow], text: str, title: str, conditions: list[Condition]):
    return {r.key: row_verdicts(groups(conditions), r, text, title, [])[0].value for r in rows}


def test_an_equality_of_a_field_a_list_item_lacks_is_loose_when_only_mentioned() -> None:
    """ "Status equals archived" of list items, which have no Status: an item naming it first
    ("archived — kept read-only") passes; one that only mentions the word in a sentence is
    read loosely (RELAXED), as a page whose Status field merely contains it would be."""
    text = (
        "## Boards\n\n"
        "- archived — kept read-only for the records\n"
        "- Harbour board: replaces the archived paper forms of the pier office\n"
        "- open — anyone may post\n"
    )
    conditions = [Condition(field="Status", test="equals", value="archived")]
    rows = listed(text, "Boards", "Which boards are archived?", ("Board", "Status"), conditions)
    got = first_verdicts(rows, text, "Boards", conditions)
    assert got == {"archived": "pass", "Harbour board": "relaxed", "open": "fail"}
    # after the field's name, as a group label writes it: "Class 12 — Widget errors"
    text = (
        "Code | Name\nClass 12 — Widget errors\n12001 | widget_lost\n12002 | widget_late\n"
        "Class 14 — Gauge errors\n14003 | gauge_replaces_class 12 codes\n"
    )
    conditions = [Condition(field="Class", test="equals", value="12")]
    rows = listed(text, "Errors", "Which errors are in class 12?", ("Code", "Name"), conditions)
    got = first_verdicts(rows, text, "Errors", conditions)
    assert got == {"12001": "pass", "12002": "pass", "14003": "relaxed"}


def test_a_pages_title_is_no_value_of_its_lists_rows() -> None:
    """A sure listing's own heading or caption states what its rows are ("Gauge Functions"),
    but a page's title describes the page: "Status equals dependency" of the items of a list
    on a page titled "solverlib — dependency solver" is read loosely, not as met."""
    text = (
        "Solver steps:\n\n- Read every package index\n- Check each candidate set\n- Print a plan\n"
    )
    conditions = [Condition(field="Status", test="equals", value="dependency")]
    title = "solverlib — dependency solver"
    question = "Which steps have dependency status?"
    rows = listed(text, title, question, ("Step", "Status"), conditions)
    rows = [replace(r, score=STRONG_LISTING_SCORE) for r in rows if not r.is_page]
    assert len(rows) == 3
    for row in rows:
        assert row_verdicts(groups(conditions), row, text, title, []) == ["relaxed"]
    contains = [Condition(field="", test="contains", value="dependency")]
    assert row_verdicts(groups(contains), rows[0], text, title, []) == ["pass"]
