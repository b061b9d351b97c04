"""Every step of a run is an `Event`: streamed to the caller and stored in the run store."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

EventType = Literal[
    "plan",
    "goal",
    "tool_choice",
    "cache_hit",
    "tool_call",
    "observation",
    "reflection",
    "fact",
    "answer",
    "answer_delta",
    "grounding",
    "budget",
    "error",
    "table_plan",
    "enumerate",
    "row",
    "coverage",
]


EVENT_LOOK: dict[str, tuple[str, str]] = {
    "plan": ("plan", "bold cyan"),
    "goal": ("goal", "bold magenta"),
    "cache_hit": ("recall", "bold blue"),
    "fact": ("noted", "blue"),
    "tool_choice": ("choose", "yellow"),
    "tool_call": ("tool", "yellow"),
    "observation": ("saw", "dim"),
    "reflection": ("think", "green"),
    "answer": ("done", "bold"),
    "answer_delta": ("write", "dim"),
    "grounding": ("check", "yellow"),
    "budget": ("stop", "bold red"),
    "error": ("warn", "red"),
    "table_plan": ("table", "bold cyan"),
    "enumerate": ("found", "yellow"),
    "row": ("row", "green"),
    "coverage": ("check", "magenta"),
}
"""Per event type: the short label and the (rich) style progress displays show it with."""


class Event(BaseModel):
    type: EventType
    step: int = 0
    time: float = Field(default_factory=time.time)
    data: dict[str, Any] = Field(default_factory=dict)
    usage: dict[str, float] | None = Field(
        None,
        description="the run's usage totals (tokens, model and tool calls) when the event was "
        "streamed; None in stored checkpoints",
    )

    def summary(self) -> str:
        """One human line for progress displays."""
        d = self.data
        match self.type:
            case "plan":
                goals = "; ".join(g["goal"] for g in d.get("sub_goals", []))
                return f"plan ({d.get('task_kind', '?')}): {goals}"
            case "goal":
                return f"goal {d.get('goal_id', '?')}: {d.get('goal', '')}"
            case "tool_choice":
                offered = ", ".join(c["tool"] for c in d.get("candidates", []))
                return f"chose {d.get('tool')} (retrieved: {offered or 'none'})"
            case "tool_call":
                args = ", ".join(f"{k}={v!r}" for k, v in d.get("arguments", {}).items())
                return f"{d.get('tool')}({args})"
            case "observation":
                if d.get("error"):
                    return f"tool error: {d['error']}"
                titles = ", ".join(o.get("title") or o["source_id"] for o in d.get("items", []))
                origin = " (from the knowledge cache)" if d.get("cached") else ""
                return f"{len(d.get('items', []))} results{origin}: {titles}"
            case "cache_hit":
                return _cache_hit_summary(d)
            case "fact":
                facts = d.get("facts", [])
                shown = "; ".join(
                    f"{f['subject']} — {f['attribute']}: {f['value']} "
                    f"({f.get('title') or f['source_id']})"
                    for f in facts[:3]
                )
                more = f" (+{len(facts) - 3} more)" if len(facts) > 3 else ""
                return f"noted {len(facts)} fact{'s' * (len(facts) != 1)}: {shown}{more}"
            case "reflection":
                line = f"{d.get('verdict')} -> {d.get('decision') or d.get('next_action')}"
                if d.get("unsupported_evidence"):
                    line += "; its evidence is not in the results, so it was set aside"
                elif d.get("verdict") != "satisfied" and d.get("missing"):
                    line += f"; missing: {d['missing']}"
                return line
            case "answer":
                return f"answer ({len(d.get('citations', []))} citations)"
            case "answer_delta":
                return str(d.get("text", ""))
            case "grounding":
                removed = d.get("removed", [])
                reasons = "; ".join(r.get("reason", "") for r in removed[:3])
                return (
                    f"removed {len(removed)} of {d.get('checked', 0)} sentences no source "
                    f"supports ({reasons})"
                )
            case "table_plan":
                columns = ", ".join(c["name"] for c in d.get("columns", []))
                tests = "; ".join(
                    f"{c['field'] or 'text'} {c['test'].replace('_', ' ')} {c['value']!r}"
                    for c in d.get("conditions", [])
                )
                return f"table of {d.get('entity', '?')}: {columns}; rows where {tests}"
            case "enumerate":
                if d.get("done"):
                    return (
                        f"enumeration done: {d.get('rows', 0)} rows "
                        f"(+{d.get('unsettled', 0)} unsettled) from {d.get('checked', 0)} "
                        f"candidates; {d.get('reason', '')}"
                    )
                line = (
                    f"search {d.get('query')!r} page {d.get('page')}: {d.get('new', 0)} new "
                    f"candidates, {d.get('new_rows', 0)} new rows (total {d.get('rows', 0)})"
                )
                if d.get("query_done"):
                    line += f"; query spent: {d['query_done']}"
                return line
            case "row":
                filled = sum(1 for v in d.get("cells", {}).values() if v)
                return (
                    f"row {d.get('key')!r}: {filled}/{len(d.get('cells', {}))} cells "
                    f"({d.get('title') or d.get('source_id')})"
                )
            case "coverage":
                return (
                    f"coverage: {d.get('rows', 0)} rows, {d.get('empty_cells', 0)} empty cells, "
                    f"{d.get('doubtful', 0)} doubtful rows; {d.get('followups', 0)} follow-ups"
                )
            case "budget":
                return f"budget: {d.get('reason')}"
            case "error":
                return f"error: {d.get('message')}"
        return self.type


def _cache_hit_summary(d: dict[str, Any]) -> str:
    if d.get("kind") == "answer":
        age = float(d.get("age_seconds", 0.0))
        when = f"{age / 3600:.1f} h" if age >= 3600 else f"{age / 60:.0f} min"
        sources = ", ".join(s.get("title") or s["source_id"] for s in d.get("sources", []))
        return f"answer from run {d.get('from_run', '?')} ({when} ago), sources unchanged" + (
            f": {sources}" if sources else ""
        )
    facts = d.get("facts", [])
    shown = "; ".join(
        f"{f['subject']} — {f['attribute']}: {f['value']} ({f.get('title') or f['source_id']})"
        for f in facts[:3]
    )
    more = f" (+{len(facts) - 3} more)" if len(facts) > 3 else ""
    return f"{len(facts)} stored fact{'s' * (len(facts) != 1)}: {shown}{more}"
