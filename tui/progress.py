"""What a run has done so far, folded from its events: the view model every live widget reads.

Pure data (no Textual), so the folding is tested without an app.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.events import Event
from agent.result import ResearchResult


def clock() -> float:
    """Seconds for elapsed times (replaced in snapshot tests so screens do not depend on speed)."""
    return time.monotonic()


GoalStatus = Literal["open", "active", "satisfied", "partial", "abandoned"]


@dataclass
class GoalView:
    id: str
    goal: str
    evidence_needed: str = ""
    status: GoalStatus = "open"
    queries: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class EvidenceItem:
    """A piece of evidence the run gathered: a fact, a noted passage or a table cell."""

    kind: Literal["fact", "evidence", "recalled", "row"]
    text: str
    source_id: str
    title: str = ""
    url: str = ""


@dataclass
class SourceView:
    source_id: str
    title: str = ""
    url: str = ""
    passages: list[str] = field(default_factory=list)
    """What was read from it: the run's search snippets, or the passages the cache stored."""


@dataclass
class RunProgress:
    """The live state of one run."""

    question: str = ""
    run_id: str = ""
    started: float = field(default_factory=lambda: clock())
    finished: float | None = None
    wall: float | None = None
    task_kind: str = ""
    goals: dict[str, GoalView] = field(default_factory=dict)
    table_title: str = ""
    table_conditions: list[str] = field(default_factory=list)
    enumeration: str = ""
    rows: int = 0
    coverage: str = ""
    evidence: list[EvidenceItem] = field(default_factory=list)
    sources: dict[str, SourceView] = field(default_factory=dict)
    usage: dict[str, float] = field(default_factory=dict)
    tool_calls: int = 0
    errors: list[str] = field(default_factory=list)
    stop: str = ""
    events: int = 0
    draft: str = ""
    """The answer as the writer writes it (the `answer_delta` pieces so far); the checked
    answer, which may differ, is the result's."""
    result: ResearchResult | None = None
    _last_items: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def elapsed(self) -> float:
        if self.wall is not None:
            return self.wall
        return (self.finished or clock()) - self.started

    @property
    def tokens(self) -> int:
        return int(self.usage.get("prompt_tokens", 0) + self.usage.get("completion_tokens", 0))

    @property
    def running(self) -> bool:
        return self.finished is None

    def add(self, event: Event) -> None:
        """Fold one event in. The answer's pieces as it is written (`answer_delta`) grow
        `draft`; they are not steps (not counted in `events`, not stored with the run)."""
        if event.usage:
            self.usage = dict(event.usage)
        if event.type == "answer_delta":
            self.draft += str(event.data.get("text", ""))
            return
        self.events += 1
        d = event.data
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            handler(d)

    def end(self, stop: str) -> None:
        """The run ended without a result (failed, or cancelled before it began)."""
        self.stop, self.finished = stop, clock()

    def finish(self, result: ResearchResult) -> None:
        self.result = result
        self.run_id = result.run_id
        self.finished = clock()
        self.stop = result.stop_reason
        usage = result.usage
        self.usage = {
            **self.usage,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "tool_calls": usage.tool_calls,
            "model_calls": usage.model_calls,
        }
        for goal in self.goals.values():
            if goal.status in ("open", "active"):
                goal.status = "abandoned" if result.stop_reason != "answered" else goal.status

    @classmethod
    def of_result(cls, result: ResearchResult) -> RunProgress:
        """A finished run rebuilt from its stored result (history)."""
        progress = cls(question=result.question, run_id=result.run_id)
        for event in result.events:
            progress.add(event)
        progress.finish(result)
        progress.wall = result.timings.wall_seconds
        return progress

    # -- event handlers ----------------------------------------------------------------------

    def _on_plan(self, d: dict[str, Any]) -> None:
        self.task_kind = str(d.get("task_kind", ""))
        self.goals = {}
        for n, goal in enumerate(d.get("sub_goals") or [], 1):
            goal_id = str(goal.get("id") or n)  # the graph numbers goals 1, 2, ... in plan order
            self.goals[goal_id] = GoalView(
                goal_id, str(goal.get("goal", "")), str(goal.get("evidence_needed", ""))
            )

    def _goal(self, goal_id: Any, text: str = "") -> GoalView:
        key = str(goal_id or "")
        if key not in self.goals:
            # goals the planner added later, or ids the plan event did not carry: match by text
            same = next((g for g in self.goals.values() if text and g.goal == text), None)
            if same is not None:
                self.goals[key] = self.goals.pop(same.id)
                same.id = key
                return same
            self.goals[key] = GoalView(key, text or key)
        return self.goals[key]

    def _on_goal(self, d: dict[str, Any]) -> None:
        for goal in self.goals.values():
            if goal.status == "active":
                goal.status = "open"
        goal = self._goal(d.get("goal_id"), str(d.get("goal", "")))
        goal.status = "active"
        if d.get("query"):
            goal.queries.append(str(d["query"]))

    def _on_tool_call(self, d: dict[str, Any]) -> None:
        self.tool_calls += 1

    def _on_observation(self, d: dict[str, Any]) -> None:
        self._last_items = list(d.get("items") or [])
        for item in d.get("items") or []:
            source = self.sources.setdefault(
                item["source_id"],
                SourceView(item["source_id"], item.get("title", ""), item.get("url", "")),
            )
            snippet = str(item.get("snippet", ""))
            if snippet and snippet not in source.passages:
                source.passages.append(snippet)

    def _on_reflection(self, d: dict[str, Any]) -> None:
        goal = self._goal(d.get("goal_id"))
        status = d.get("goal_status")
        if status in ("satisfied", "partial", "abandoned"):
            goal.status = status
        elif status == "open":
            goal.status = "active"
        goal.note = str(d.get("missing") or "") if status != "satisfied" else ""
        evidence = str(d.get("evidence") or "").strip()
        if evidence and not d.get("unsupported_evidence"):
            # "[n]" in the evidence is the n-th result of the step's observation
            cited = [int(n) for n in re.findall(r"\[(\d+)\]", evidence)]
            items = self._last_items
            item = next((items[n - 1] for n in cited if 0 < n <= len(items)), None)
            item = item or (items[0] if items else {})
            self.evidence.append(
                EvidenceItem("evidence", evidence, str(item.get("source_id", "")),
                             str(item.get("title", "")), str(item.get("url", "")))
            )  # fmt: skip

    def _on_fact(self, d: dict[str, Any]) -> None:
        for fact in d.get("facts") or []:
            self.evidence.append(_fact_item("fact", fact))

    def _on_cache_hit(self, d: dict[str, Any]) -> None:
        for fact in d.get("facts") or []:
            self.evidence.append(_fact_item("recalled", fact))

    def _on_table_plan(self, d: dict[str, Any]) -> None:
        self.task_kind = "wide"
        columns = ", ".join(c["name"] for c in d.get("columns") or [])
        self.table_title = f"{d.get('entity') or 'rows'}: {columns}"
        self.table_conditions = [
            f"{c.get('field') or 'text'} {str(c.get('test', '')).replace('_', ' ')} "
            f"{c.get('value')!r}"
            for c in d.get("conditions") or []
        ]

    def _on_enumerate(self, d: dict[str, Any]) -> None:
        self.rows = int(d.get("rows", self.rows) or 0)
        self.enumeration = Event(type="enumerate", data=d).summary()

    def _on_row(self, d: dict[str, Any]) -> None:
        if d.get("rejected"):
            return
        cells = d.get("cells") or {}
        shown = ", ".join(f"{k}: {v}" for k, v in cells.items() if v)
        self.evidence.append(
            EvidenceItem(
                "row",
                f"{d.get('key')}: {shown}",
                str(d.get("source_id", "")),
                str(d.get("title", "")),
                str(d.get("url", "")),
            )
        )

    def _on_coverage(self, d: dict[str, Any]) -> None:
        self.rows = int(d.get("rows", self.rows) or 0)
        self.coverage = Event(type="coverage", data=d).summary()

    def _on_budget(self, d: dict[str, Any]) -> None:
        self.stop = str(d.get("reason", ""))

    def _on_error(self, d: dict[str, Any]) -> None:
        self.errors.append(str(d.get("message", "")))


def _fact_item(kind: Literal["fact", "recalled"], fact: dict[str, Any]) -> EvidenceItem:
    return EvidenceItem(
        kind,
        f"{fact.get('subject')} — {fact.get('attribute')}: {fact.get('value')}",
        str(fact.get("source_id", "")),
        str(fact.get("title", "")),
        str(fact.get("url", "")),
    )
