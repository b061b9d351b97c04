"""The table answer node: the filled member rows as one markdown table with its sources."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent.state import ResearchState, RunContext
from agent.steps import event
from agent.wide.render import render_table_answer
from agent.wide.table_plan import TablePlan


async def table_answer_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    plan = TablePlan.from_state(state["table_plan"])
    enumeration = state.get("enumeration") or {}
    answer, citations, table = render_table_answer(
        plan,
        state.get("rows") or {},
        list(enumeration.get("candidates", {})),
        enumeration,
        unverified=runtime.context.wide.unverified,
    )
    return {
        "answer": answer,
        "citations": citations,
        "rejected_citations": [],
        "table": table,
        "events": [
            event(
                "answer",
                state,
                answer=answer,
                citations=citations,
                rejected_citations=[],
                rows=len(table),
            )
        ],
    }
