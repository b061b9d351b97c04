"""The graph's state (checkpointed as plain data) and the run-scoped context (not checkpointed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from agent.config import BudgetConfig, KnowledgeConfig, Role, SearchConfig, WideConfig
from agent.llm.base import ChatModel, Usage
from memory.knowledge import FactRecord, KnowledgeCache
from tools.base import ToolRegistry

if TYPE_CHECKING:
    from agent.tool_choice import ToolSelector

RecallFn = Callable[[str, str, str], list[FactRecord]]
"""(goal, keywords, run id) -> facts stored by other runs that bear on the goal, best first."""
RecordCallFn = Callable[[str, str, list[dict[str, str]], str, Usage], None]
"""(role, task, messages, output, usage) of one model call."""

USAGE_KEYS = (
    "prompt_tokens",
    "completion_tokens",
    "model_calls",
    "model_seconds",
    "tool_calls",
    "tool_seconds",
    "steps",
    "cache_hits",
)


def add_usage(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    """Reducer: nodes return usage deltas; the state holds the running sums."""
    total = dict.fromkeys(USAGE_KEYS, 0.0)
    for part in (left or {}, right or {}):
        for key, value in part.items():
            total[key] = total.get(key, 0.0) + value
    return total


def merge_sources(
    left: dict[str, dict[str, Any]] | None, right: dict[str, dict[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """Reducer: sources the run has read, by source id, with the passages it saw."""
    merged = {k: {**v, "passages": list(v.get("passages", []))} for k, v in (left or {}).items()}
    for source_id, record in (right or {}).items():
        if source_id not in merged:
            merged[source_id] = {**record, "passages": list(record.get("passages", []))}
            continue
        seen = {(p.get("start"), p.get("text")) for p in merged[source_id]["passages"]}
        for passage in record.get("passages", []):
            if (passage.get("start"), passage.get("text")) not in seen:
                merged[source_id]["passages"].append(passage)
    return merged


def merge_rows(
    left: dict[str, dict[str, Any]] | None, right: dict[str, dict[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """Reducer: table rows by source id; a later write adds cells to a row, never drops one."""
    merged = {k: {**v, "cells": dict(v.get("cells", {}))} for k, v in (left or {}).items()}
    for row_id, row in (right or {}).items():
        if row_id not in merged:
            merged[row_id] = {**row, "cells": dict(row.get("cells", {}))}
            continue
        cells = merged[row_id]["cells"]
        merged[row_id].update({k: v for k, v in row.items() if k != "cells"})
        for column, cell in (row.get("cells") or {}).items():
            if cell.get("value") or column not in cells:
                cells[column] = cell
    return merged


def add_list(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    return [*(left or []), *(right or [])]


class ResearchState(TypedDict, total=False):
    question: str
    plan: dict[str, Any]
    goals: list[dict[str, Any]]  # {id, goal, evidence_needed, query, status, attempts, queries}
    current_goal: int
    action: dict[str, Any] | None  # {tool, arguments}
    observations: list[dict[str, Any]]  # the latest step's observations
    observation_error: str | None
    next: str  # routing decision: "act" | "goal" | "answer"
    stop_reason: str | None
    answer: str
    citations: list[dict[str, Any]]
    rejected_citations: list[str]
    reused_from: str | None  # the run whose stored answer this run returned
    notes: Annotated[list[dict[str, Any]], add_list]
    sources: Annotated[dict[str, dict[str, Any]], merge_sources]
    events: Annotated[list[dict[str, Any]], add_list]
    usage: Annotated[dict[str, float], add_usage]
    # wide research (a table): the plan, the enumeration's progress, the rows as they fill
    table_plan: dict[str, Any]
    enumeration: dict[str, Any]
    rows: Annotated[dict[str, dict[str, Any]], merge_rows]
    coverage_round: int
    followups: list[dict[str, Any]]
    table: list[dict[str, Any]]


@dataclass
class RunContext:
    """Dependencies of one run: models per role, tools, budgets, the wall-clock deadline."""

    models: dict[Role, ChatModel]
    tools: ToolRegistry
    budget: BudgetConfig
    search: SearchConfig
    wide: WideConfig = field(default_factory=WideConfig)
    cache: KnowledgeCache | None = None
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    recall: RecallFn | None = None
    tool_selector: ToolSelector | None = None
    """Set when imported tools are registered: each search step retrieves tools for its goal
    and the model picks one (`agent.tool_choice`)."""
    record_call: RecordCallFn | None = None
    """Where model calls go (role, task, messages, output, usage): the run store's traces."""
    web: bool = False
    """Web search is on: `search` also asks the web backends and `read` reads URLs."""
    recency: str | None = None
    """With web search: how recent results must be (day/week/month/year), from the question."""
    answer_scope: str = ""
    """What a stored answer depends on besides the sources: models, corpora, tool names."""
    run_id: str = ""
    started: float = field(default_factory=time.monotonic)
    scratch: dict[str, Any] = field(default_factory=dict)
    """Per-run working objects of nodes (the wide fan-out's semaphore, its check count)."""

    @property
    def deadline(self) -> float:
        return self.started + self.budget.max_seconds

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()
