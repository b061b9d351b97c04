"""A cell pairing something with what it gives ("f(2) → 4") read for two asked columns."""

from __future__ import annotations

import pytest

from agent.wide.pairs import asks_for_result, paired_cells, split_pair
from agent.wide.table_plan import Column


@pytest.mark.parametrize(
    ("cell", "pair"),
    [
        ("pressure(10) → 2.0", ("pressure(10)", "2.0")),
        ("pressure(10) → 2.0\npressure(20) → 3.0", ("pressure(10)", "2.0")),  # the first
        ("to_hex(255) -> 'ff'", ("to_hex(255)", "'ff'")),
        ("a ⇒ b ⇒ c", None),  # a chain is no pair
        ("no arrow here", None),
        ("x→y", None),  # an arrow inside a word is no separator
    ],
)
def test_split_pair(cell: str, pair: tuple[str, str] | None) -> None:
    assert split_pair(cell) == pair


def test_a_column_asks_for_a_result_by_its_name_or_description() -> None:
    assert asks_for_result(Column("Example Result", "number"))
    assert asks_for_result(Column("Output"))
    assert asks_for_result(Column("Value", "text", "the result shown for that call"))
    assert not asks_for_result(Column("Example", "text", "the example call, and its result"))
    assert not asks_for_result(Column("Description", "text", "what the function does"))


GAUGE_ROW = {
    "Function": "salinity ( sample text ) → numeric",
    "Description": "Salinity of a sample, in grams per litre",
    "Example(s)": "salinity('north') → 35",
}


def test_the_example_and_its_result_split_between_the_columns_asking_for_each() -> None:
    columns = [Column("Function"), Column("Example"), Column("Result", "number")]
    source = {"Function": "Function", "Example": "Example(s)"}  # Result mapped to nothing
    assert paired_cells(columns, "Function", source, GAUGE_ROW) == {
        "Example": "salinity('north')",
        "Result": "35",
    }


def test_a_pair_no_column_asks_to_split_stays_whole() -> None:
    columns = [Column("Function"), Column("Example"), Column("Description")]
    source = {"Function": "Function", "Example": "Example(s)", "Description": "Description"}
    assert paired_cells(columns, "Function", source, GAUGE_ROW) == {}


def test_the_key_cells_signature_gives_what_it_returns() -> None:
    """Asked for the return type beside the function, the signature's right side answers it;
    the key itself is named elsewhere (by the function's name)."""
    columns = [Column("Function"), Column("Returns")]
    assert paired_cells(columns, "Function", {"Function": "Function"}, GAUGE_ROW) == {
        "Returns": "numeric"
    }
    # a result column mapped to another cell of its own keeps that cell
    source = {"Function": "Function", "Returns": "Description"}
    assert paired_cells(columns, "Function", source, GAUGE_ROW) == {}
