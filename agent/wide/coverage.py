"""Coverage: rows whose membership is still open are settled from their cells or by one
targeted check each; member rows with empty cells get a follow-up (another document about the
same entity, e.g. its own page for a row found in a list)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from agent.llm.base import Usage
from agent.state import ResearchState, RunContext
from agent.steps import event, usage_delta
from agent.wide.checks import check_groups
from agent.wide.enumeration import send_fill
from agent.wide.fields import DocField
from agent.wide.membership import check_condition, groups
from agent.wide.reading import read_full, read_span
from agent.wide.table_plan import TablePlan, match_column
from tools.base import ToolError


def settle_from_cells(plan: TablePlan, row: dict[str, Any]) -> str:
    """pass / fail / unknown for the row's unknown condition groups, read from its cells."""
    condition_groups = groups(plan.conditions)
    verdicts = []
    for index in row.get("unknown_groups", []):
        results = []
        for condition in condition_groups[index]:
            column = match_column(condition, plan.columns)
            cell = row["cells"].get(column.name, {}) if column else {}
            if column is None or not cell.get("value"):
                results.append("unknown")
                continue
            pseudo = DocField(column.name, column.name, cell["value"], 0, 0)
            results.append(check_condition(condition, "", [pseudo]).verdict)
        verdicts.append(
            "pass" if "pass" in results else "unknown" if "unknown" in results else "fail"
        )
    if "fail" in verdicts:
        return "fail"
    return "unknown" if "unknown" in verdicts else "pass"


async def coverage_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    plan = TablePlan.from_state(state["table_plan"])
    rows = state.get("rows") or {}
    candidates = (state.get("enumeration") or {}).get("candidates", {})
    round_ = int(state.get("coverage_round") or 0)
    updates: dict[str, dict[str, Any]] = {}
    usage = Usage()
    for row_id, row in rows.items():
        if row.get("status") != "unknown":
            continue
        status = settle_from_cells(plan, row)
        how = "cells"
        if status == "unknown" and not row.get("checked") and ctx.seconds_left() > 0:
            document = await _row_text(ctx, row, candidates.get(row_id, {}))
            if document is not None:
                status, spent = await check_groups(
                    ctx, plan, document, row["key"], row.get("unknown_groups", [])
                )
                usage.add(spent)
            how = "model check"
        if status != "unknown" or how == "model check":
            updates[row_id] = {"status": status, "settled_by": how, "checked": True}
    merged = {k: {**v, **updates.get(k, {})} for k, v in rows.items()}
    members = [r for r in merged.values() if r.get("status") == "pass"]
    doubtful = [r for r in merged.values() if r.get("status") == "unknown"]
    followups: list[dict[str, Any]] = []
    empty_cells = 0
    # rows of one entity (a list's row and the entity's own page) share their cells
    filled: dict[str, set[str]] = {}
    for row in merged.values():
        if row.get("status") == "pass":
            have = {c for c, cell in row["cells"].items() if cell.get("value")}
            filled.setdefault(_entity(row), set()).update(have)
    asked: set[str] = set()
    for row_id, row in merged.items():
        if row.get("status") != "pass" or _entity(row) in asked:
            continue
        asked.add(_entity(row))
        empty = [c.name for c in plan.columns if c.name not in filled[_entity(row)]]
        empty_cells += len(empty)
        if empty and round_ < ctx.wide.followup_rounds and ctx.seconds_left() > 0:
            exclude = sorted({cell.get("source_id", "") for cell in row["cells"].values()})
            followups.append(
                {
                    "mode": "followup",
                    "row_id": row_id,
                    "key": row["key"],
                    "columns": empty,
                    "exclude": [row["source_id"], *exclude],
                }
            )
    report = event(
        "coverage",
        state,
        round=round_ + 1,
        rows=len(members),
        doubtful=len(doubtful),
        settled={k: v["status"] for k, v in updates.items()},
        empty_cells=empty_cells,
        followups=len(followups),
        followup_rows=[f["key"] for f in followups][:50],
    )
    return {
        "rows": updates,
        "coverage_round": round_ + 1,
        "followups": followups,
        "events": [report],
        "usage": usage_delta(usage),
    }


def _entity(row: dict[str, Any]) -> str:
    return str(row.get("merge_key") or row.get("key", ""))


async def _row_text(
    ctx: RunContext, row: dict[str, Any], entry: dict[str, Any]
) -> dict[str, Any] | None:
    """What a check reads: a listing row's own text, else its whole document."""
    span = entry.get("row") or {}
    try:
        if span.get("kind", "page") == "page":
            return await read_full(ctx, row["source_id"])
        document = await read_span(
            ctx, row["source_id"], span["start"], span["end"], entry.get("evidence")
        )
    except ToolError:
        return None
    return document if "title" in document else {**document, "title": row.get("title", "")}


def route_coverage(state: ResearchState) -> str | list[Send]:
    followups = state.get("followups") or []
    if not followups:
        return "table_answer"
    return [send_fill(state, task) for task in followups]
