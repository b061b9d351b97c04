"""Cells that pair something with what it gives: "f(2) → 4", "x -> y", "a ⇒ b".

Reference tables write an example and its result in one cell, and a signature and its return
type in another. A question may ask for the two halves as two columns ("the example call",
"the result shown for that example"). Read deterministically: the arrow means "gives"; a column
that asks for what something gives (its name or description speaks of a result, an output, a
return) takes the right side, the other columns of that cell take the left side."""

from __future__ import annotations

import re

from agent.wide.fields import words
from agent.wide.table_plan import Column

_ARROW = re.compile(r"\s+(?:→|⇒|->|=>)\s+")
RESULT_WORDS = frozenset(["result", "output", "return", "returns", "returned", "yield", "gives"])
"""Words by which a column asks for what the left side of an arrow gives."""


def _sides(line: str) -> list[str]:
    """A line cut at its arrows: one part when it has none, three or more for a chain."""
    return [part.strip() for part in _ARROW.split(line.strip())]


def split_pair(cell: str) -> tuple[str, str] | None:
    """The two sides of a cell's first line that holds one arrow ("acosd(0.5) → 60"), else
    None (no arrow, or several: a chain is no pair)."""
    for line in cell.splitlines():
        parts = _sides(line)
        if len(parts) == 2 and all(parts):
            return parts[0], parts[1]
        if len(parts) > 2:
            return None
    return None


def asks_for_result(column: Column) -> bool:
    """Whether a column asks for what something gives (its name, else its description, speaks
    of a result, an output, a return value)."""
    named = set(words(column.name))
    if named & RESULT_WORDS:
        return True
    return not named & {"example", "call", "signature"} and bool(
        set(words(column.description)[:6]) & RESULT_WORDS
    )


def paired_cells(
    columns: list[Column], key: str, source: dict[str, str], values: dict[str, str]
) -> dict[str, str]:
    """Plan column -> its value, for the columns reading one cell of `values` that pairs two
    sides: the table column a plan column maps to (`source`) whose cell is "left → right",
    when another plan column asks for the result (mapped to the same cell, or to none). Only
    such cells: a pair no column asks to split stays whole. The key column's cell (a
    signature "f(x) → integer") may give its right side to a result column no other cell
    gave one; the key itself is named elsewhere."""
    out: dict[str, str] = {}
    ordered = [c for c in columns if c.name != key] + [c for c in columns if c.name == key]
    for column in ordered:
        cell_name = source.get(column.name)
        if not cell_name or asks_for_result(column):
            continue
        pair = split_pair(values.get(cell_name, ""))
        if pair is None:
            continue
        results = [
            c
            for c in columns
            if c is not column
            and c.name != key
            and asks_for_result(c)
            and source.get(c.name) in (None, cell_name)
            and c.name not in out
        ]
        if not results:
            continue
        if column.name != key:
            out[column.name] = pair[0]
        for result in results:
            out[result.name] = pair[1]
    return out


def result_sides(values: dict[str, str]) -> list[str]:
    """What a row's signature lines give: the right side of every line of a cell that pairs
    a call with its result type ("length ( text ) → integer" -> "integer"), over the row's
    cells in order, the first cell holding such lines only (a row's forms, not its
    examples)."""
    for cell in values.values():
        sides = []
        for line in cell.splitlines():
            parts = _sides(line)
            if len(parts) == 2 and "(" in parts[0] and all(parts):
                sides.append(parts[1])
        if sides:
            return sides
    return []
