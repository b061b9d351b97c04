"""What the wide-research models return: the table plan and one entity's cells.

The plan is validated twice: by the grammar (shape) and by `table_plan.finalise_plan` (against
the question: the columns it names, in its order)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

ColumnType = Literal["text", "number", "date", "url"]
TestKind = Literal["contains", "equals", "more_than", "less_than", "at_least", "at_most"]


def _squash(value: str) -> str:
    return " ".join(value.split())[:300]


class ColumnSpec(BaseModel):
    name: str = Field(description="the column name exactly as the question gives it")
    type: ColumnType = Field(description="number for counts, sizes, years and amounts")

    _squash = field_validator("name")(_squash)


class Condition(BaseModel):
    """One membership test a row's document must pass."""

    field: str = Field(
        description="the document field the test reads, e.g. 'Homepage'; '' for the whole text"
    )
    test: TestKind
    value: str = Field(description="the text or number to compare with, copied from the question")

    _squash = field_validator("field", "value")(_squash)


class TablePlanReply(BaseModel):
    entity: str = Field(
        description="what one row is, e.g. 'software package', 'river', 'error code'"
    )
    columns: list[ColumnSpec] = Field(min_length=1, max_length=12)
    key_column: str = Field(description="the column that names the row's entity")
    conditions: list[Condition] = Field(min_length=1, max_length=4)
    queries: list[str] = Field(
        min_length=1, max_length=5, description="2-5 different keyword queries for candidates"
    )

    _squash = field_validator("entity", "key_column")(_squash)


class ListingPlaceReply(BaseModel):
    """Where the question says a table's items are listed: a call of its own, so that the
    plan's conditions keep every property of the items (a small model asked for both in one
    reply moves a region or category the items must have into the place)."""

    listed_in: str = Field(
        description="the question's phrase naming the document, section, table or list the "
        "items are listed in; '' when it names none"
    )

    _squash = field_validator("listed_in")(_squash)


class SelectionReply(BaseModel):
    """Which items the question asks for, beyond where they are listed: asked apart when the
    plan kept no test of the items (a small planner drops "can only be set at server start"
    while it copies the place)."""

    field: str = Field(description="what the test reads, e.g. 'Returns'; '' for the item's text")
    test: TestKind
    value: str = Field(description="copied from the question; '' when every item listed counts")

    _squash = field_validator("field", "value")(_squash)


class ConditionVerdict(BaseModel):
    """A targeted check of one condition the document's fields did not settle."""

    quote: str = Field(description="the excerpt's words that decide it; empty if none")
    holds: bool

    _squash = field_validator("quote")(_squash)
