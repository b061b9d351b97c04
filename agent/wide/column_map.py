"""Mapping the asked-for columns to a document table's header by meaning: one schema-constrained
model call per distinct header that words alone did not map fully (`rows.map_columns` maps by
shared words first). The reply must name columns the table has; anything else is ignored."""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from agent.llm.base import ModelError, Usage
from agent.prompts import load_prompt
from agent.state import RunContext
from agent.steps import failed_usage, structured
from agent.text import clip, quote_untrusted
from agent.wide.cells import field_name
from agent.wide.fields import fold
from agent.wide.pairs import paired_cells
from agent.wide.rows import CandidateRow, RowKind, clean_key
from agent.wide.table_plan import TablePlan

MAP_TOKENS = 160
SAMPLE_ROWS = 3
MAX_HEADERS = 4
"""Distinct table headers one run maps by meaning (a call each)."""


async def map_by_meaning(
    ctx: RunContext, plan: TablePlan, rows: list[CandidateRow]
) -> tuple[list[CandidateRow], Usage]:
    """`rows` with the plan columns their table's header lacks by words mapped by meaning,
    where the model names a column of that header; one call per distinct header per run."""
    usage = Usage()
    cache: dict[tuple[str, ...], dict[str, str]] = ctx.scratch.setdefault("wide_column_maps", {})
    by_header: dict[tuple[str, ...], list[CandidateRow]] = {}
    for row in rows:
        if row.kind is RowKind.TABLE:
            by_header.setdefault(tuple(row.values), []).append(row)
    for header, members in by_header.items():
        paired = paired_cells(plan.columns, plan.key_column, members[0].columns, members[0].values)
        missing = [
            c
            for c in plan.columns
            if c.name != plan.key_column and c.name not in {**members[0].columns, **paired}
        ]
        free = [name for name in header if name not in members[0].columns.values()]
        if not missing or not free or not members[0].columns:
            continue  # a table none of whose columns words map is no listing to complete
        if header not in cache:
            if len(cache) >= MAX_HEADERS:
                continue
            mapping, spent = await _ask(ctx, plan, missing, list(header), free, members)
            usage.add(spent)
            cache[header] = mapping
        for row in members:
            row.columns = {**cache[header], **row.columns}
            named = row.values.get(row.columns.get(plan.key_column, ""), "")
            if named.strip() and plan.key_column in cache[header]:
                row.key = clean_key(named)
    return rows, usage


async def _ask(
    ctx: RunContext,
    plan: TablePlan,
    missing: list[Any],
    header: list[str],
    free: list[str],
    rows: list[CandidateRow],
) -> tuple[dict[str, str], Usage]:
    names = {field_name(i, c): c for i, c in enumerate(missing)}
    schema = create_model(  # type: ignore[call-overload]
        "ColumnMap",
        **{
            name: (str | None, Field(default=None, description=c.name)) for name, c in names.items()
        },
    )
    needed = "\n".join(
        f"- {name} ({c.name}" + (f": {clip(c.description, 120)}" if c.description else "") + ")"
        for name, c in names.items()
    )
    sample = "\n".join(" | ".join(r.values.values()) for r in rows[:SAMPLE_ROWS])
    messages = load_prompt("column_mapper").render(
        entity=plan.entity,
        needed=needed,
        where=quote_untrusted(rows[0].where),
        columns=quote_untrusted("\n".join(free)),
        rows=quote_untrusted(sample[:600]),
    )
    try:
        reply, usage = await structured(ctx, "reflector", messages, schema, MAP_TOKENS)
    except (ModelError, TimeoutError) as error:
        return {}, failed_usage(error)
    by_fold = {fold(name): name for name in free}
    mapping = {}
    for name, column in names.items():
        chosen = getattr(reply, name, None)
        if isinstance(chosen, str) and fold(chosen) in by_fold:
            mapping[column.name] = by_fold[fold(chosen)]
    return mapping, usage
