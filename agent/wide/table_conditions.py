"""A condition read against a sure table's columns when its wording matched no row.

A small planner writes conditions in the question's words ("Type equals client"), and a table
states them in its own ("Server?" = "No"; "result in degrees"). When a condition group that
reads no column of a table sure to hold the question's rows rejects every row of it, one
schema-constrained call per table (cached by header) names the column and the test that
state that condition there. The code, not the model, decides whether the reading is usable:
its column is the table's, its value is a cell (or part of one) of that column, it shares a
word with the question or the condition, and it keeps some rows but not all. Then that group
is decided by the reading for the table's rows, and the answer says so."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, create_model

from agent.llm.base import ModelError, Usage
from agent.prompts import load_prompt
from agent.state import RunContext
from agent.steps import failed_usage, structured
from agent.text import clip, quote_untrusted
from agent.wide.fields import fold, match_score, words
from agent.wide.rows import STRONG_LISTING_SCORE, CandidateRow, RowKind
from agent.wide.schemas import Condition
from agent.wide.table_plan import ask_of, group_text
from agent.wide.verdicts import GroupVerdict

READ_TOKENS = 80
SAMPLE_ROWS = 6
MAX_TABLES = 4
"""Conditions one run reads against a table (a call each, per table header and group)."""

TableTest = Literal["equals", "contains", "empty", "not empty"]


@dataclass(frozen=True)
class TableReading:
    """A condition as a table states it: a column, a test and (for text tests) a value."""

    column: str
    test: TableTest
    value: str = ""

    def holds(self, row: CandidateRow) -> bool:
        cell = fold(" ".join(row.values.get(self.column, "").split()))
        wanted = fold(" ".join(self.value.split()))
        if self.test == "empty":
            return not cell
        if self.test == "not empty":
            return bool(cell)
        if self.test == "equals":
            return cell == wanted
        return bool(wanted) and wanted in cell

    def describe(self) -> str:
        if self.test in ("empty", "not empty"):
            return f"{self.column} is {self.test}"
        return f"{self.column} {self.test} {self.value!r}"


def _reads_header(condition: Condition, header: list[str]) -> bool:
    return bool(condition.field.strip()) and any(
        match_score(condition.field, name) >= 1.0 for name in header
    )


def failing_groups(
    condition_groups: list[list[Condition]],
    header: list[str],
    verdicts: list[list[GroupVerdict]],
) -> list[int]:
    """The groups that read no column of the table and reject every one of its rows, alone:
    some row meets or may meet every other group (a table all of whose rows fail several
    groups is no listing of the question's rows). A group of numbers is read as stated (a
    number is in a row or not): never again."""
    return [
        i
        for i, group in enumerate(condition_groups)
        if not any(_reads_header(c, header) for c in group)
        and any(any(ch.isalpha() for ch in c.value) for c in group)
        and verdicts
        and all(v[i] is GroupVerdict.FAIL for v in verdicts)
        and any(
            all(x is not GroupVerdict.FAIL for j, x in enumerate(v) if j != i) for v in verdicts
        )
    ]


def _said(word: str, stated: set[str]) -> bool:
    """Whether a word is among `stated`, or shares a stem of five letters or more with one
    ("degrees" / "degree-based")."""
    return word in stated or (
        len(word) >= 5 and any(len(w) >= 5 and (w.startswith(word[:5])) for w in stated)
    )


def usable(
    reading: TableReading, rows: list[CandidateRow], question: str, group: list[Condition]
) -> bool:
    """Whether a reading can stand for the group: its column is the table's; a text test's
    value is in a cell of that column; the question's lead names the column, or the lead or
    the condition states the value; and it keeps some of the rows, not all."""
    if not rows or reading.column not in rows[0].values:
        return False
    if reading.test in ("equals", "contains"):
        if not reading.value.strip():
            return False
        cells = [fold(r.values.get(reading.column, "")) for r in rows]
        if not any(fold(reading.value) in cell for cell in cells):
            return False
    lead = set(words(ask_of(question)))
    asked = lead | {w for c in group for w in words(f"{c.field} {c.value}")}
    column, value = words(reading.column), words(reading.value)
    # the question names the column ("Server?" for "cannot be used as a server encoding"),
    # or the question or the condition states the value, at least half of its words ("result
    # in degrees" for "degree-based")
    stated = sum(_said(w, asked) for w in value if any(ch.isalpha() for ch in w))
    if not (column and all(_said(w, lead) for w in column)) and not (
        value and stated and 2 * stated >= len(value)
    ):
        return False
    kept = sum(reading.holds(r) for r in rows)
    return 0 < kept < len(rows)


async def reread_failing_groups(
    ctx: RunContext,
    question: str,
    condition_groups: list[list[Condition]],
    rows: list[CandidateRow],
    verdicts: dict[str, list[GroupVerdict]],
) -> tuple[list[str], Usage]:
    """For each table sure to hold the question's rows among `rows` (one document's), the
    groups that read none of its columns and reject all its rows, read against its columns;
    a usable reading decides those groups for the table's rows (`verdicts` updated in place).
    Returns sentences saying how each group was read, and the calls' usage."""
    usage = Usage()
    notes: list[str] = []
    cache: dict[tuple[str, ...], Any] = ctx.scratch.setdefault("wide_table_readings", {})
    tables: dict[tuple[str, ...], list[CandidateRow]] = {}
    for row in rows:  # one table: one place and header (a page's tables may share a header)
        if row.kind is RowKind.TABLE and row.score >= STRONG_LISTING_SCORE:
            tables.setdefault((row.where, *row.values), []).append(row)
    ranked = sorted(tables.values(), key=lambda m: -m[0].score)  # the surest table first
    for members in ranked:
        header = tuple(members[0].values)
        failing = failing_groups(
            condition_groups, list(header), [verdicts[r.row_id] for r in members]
        )
        for index in failing:
            group = condition_groups[index]
            slot = (members[0].where, *header, f"#group {index}")
            reading = stem_reading(group, list(header), members, question)
            if reading is None and slot not in cache:
                if len(cache) >= MAX_TABLES:
                    continue
                reading, spent = await _ask(ctx, question, group, list(header), members)
                usage.add(spent)
                cache[slot] = reading
            reading = reading or cache.get(slot)
            if reading is None or not usable(reading, members, question, group):
                continue
            for row in members:
                verdicts[row.row_id][index] = (
                    GroupVerdict.PASS if reading.holds(row) else GroupVerdict.FAIL
                )
            text = group_text(group)
            where = members[0].where or "its table"
            notes.append(f"{text}, stated by no row of {where!r}, was read as {reading.describe()}")
    return notes, usage


STEM = 5
"""Letters two words share to be forms of one word ("degrees" / "degree-based")."""


def stem_reading(
    group: list[Condition], header: list[str], rows: list[CandidateRow], question: str
) -> TableReading | None:
    """A reading found without the model: a word of the condition's value (of STEM letters or
    more) that the table writes in another form ("degree-based" / "result in degrees") in
    one column's cells, keeping some rows but not all; the column where it splits the rows
    most evenly."""
    best: tuple[float, TableReading] | None = None
    for condition in group:
        for word in words(condition.value):
            if len(word) < STEM or not any(ch.isalpha() for ch in word):
                continue
            for column in header:
                forms = {
                    w
                    for r in rows
                    for w in re.findall(r"[^\W\d_]+", r.values.get(column, ""))
                    if len(w) >= STEM and fold(w)[:STEM] == word[:STEM]
                }
                for form in sorted(forms):
                    reading = TableReading(column, "contains", form)
                    if not usable(reading, rows, question, group):
                        continue
                    share = sum(reading.holds(r) for r in rows) / len(rows)
                    if best is None or abs(share - 0.5) < abs(best[0] - 0.5):
                        best = (share, reading)
    return best[1] if best else None


async def _ask(
    ctx: RunContext,
    question: str,
    group: list[Condition],
    header: list[str],
    rows: list[CandidateRow],
) -> tuple[TableReading | None, Usage]:
    choices: Any = Literal[tuple([*header, ""])]
    schema = create_model(
        "TableReadingReply",
        column=(choices, Field(description="a column of the table, or ''")),
        test=(TableTest, Field(default="equals", description="how the cell shows it")),
        value=(str, Field(default="", description="the value or phrase, as the table writes it")),
    )
    sample = "\n".join(  # a line per row
        clip(" | ".join(r.values.values()), 200) for r in _spread(rows, SAMPLE_ROWS)
    )
    messages = load_prompt("table_condition").render(
        question=clip(ask_of(question), 600),
        condition=group_text(group),
        where=quote_untrusted(rows[0].where),
        columns=quote_untrusted(" | ".join(header)),
        rows=quote_untrusted(sample),
    )
    try:
        reply, usage = await structured(ctx, "reflector", messages, schema, READ_TOKENS)
    except (ModelError, TimeoutError) as error:
        return None, failed_usage(error)
    if not reply.column:
        return None, usage
    return TableReading(reply.column, reply.test, " ".join(str(reply.value).split())), usage


def _spread(rows: list[CandidateRow], count: int) -> list[CandidateRow]:
    """`count` rows spread over the table (its first rows may all be alike)."""
    if len(rows) <= count:
        return rows
    step = len(rows) / count
    return [rows[int(i * step)] for i in range(count)]
