"""Wide research as graph nodes: a table plan, enumeration until saturation, one extraction
branch per entity (LangGraph `Send`), a coverage check with follow-ups, and the table.

- `table_plan`: the planner model's `TablePlanReply`, reconciled with the question.
- `enumerate`: one search page per step. Each new candidate's own document is read and checked
  against the conditions (`membership`); a query is spent when `patience` pages in a row add no
  row, when its results run out, or at its page limit. A condition group that rejects every
  candidate the other groups accept is dropped (a small model's wrong test must not empty the
  table). Stops when every query is spent, or on the candidate/time budget: the event says why.
- `fill` (fan-out): per entity, the goal-relevant lines of its document, one schema-constrained
  extraction call, grounding; each cell is stored as a fact with its source span.
- `coverage`: unsettled rows are settled from their cells or by one targeted model check per
  condition; empty cells get a follow-up (another document about the same entity).
- `table_answer`: the table (markdown in a fence, exact column names, one row per entity) and
  a sources list; the rows also go to the result as structured data.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any, TypedDict

from langgraph.runtime import Runtime
from langgraph.types import Send

from agent.llm.base import ModelError, Usage
from agent.prompts import load_prompt
from agent.state import ResearchState, RunContext, add_usage
from agent.steps import event, failed_usage, structured, usage_delta
from agent.text import clip, quote_untrusted
from agent.wide.cells import (
    build_excerpt,
    extraction_schema,
    field_fallback,
    field_name,
    ground_number,
    ground_text,
    label_answer,
    normalise,
    related_lines,
)
from agent.wide.fields import (
    DocField,
    best_fields,
    fold,
    format_number,
    match_score,
    parse_fields,
)
from agent.wide.fields import words as words_of
from agent.wide.membership import (
    check_condition,
    check_membership,
    groups,
    line_around,
    quote_meets,
)
from agent.wide.render import render_table_answer
from agent.wide.schemas import Condition, ConditionVerdict, TablePlanReply
from agent.wide.table_plan import Column, TablePlan, field_mentions, finalise_plan
from retriever.corpus_store import CorpusError
from tools.base import ToolError

log = logging.getLogger(__name__)

PLAN_TOKENS = 600
MIN_DROP_EVIDENCE = 3
"""Candidates that fail only one condition group before that group may be dropped."""


def _slots(ctx: RunContext) -> asyncio.Semaphore:
    """Bounded concurrency of the fill branches of one run."""
    slots = ctx.scratch.get("wide_slots")
    if slots is None:
        slots = ctx.scratch["wide_slots"] = asyncio.Semaphore(ctx.wide.concurrency)
    return slots


async def _tool(ctx: RunContext, name: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """A tool call with the configured timeout; raises ToolError (timeouts included)."""
    tool = ctx.tools.get(name)
    try:
        result = await asyncio.wait_for(tool(arguments), ctx.search.tool_timeout)
    except TimeoutError:
        raise ToolError(f"{name} timed out after {ctx.search.tool_timeout:.0f} s") from None
    return [o.model_dump() for o in result]


async def _read_full(ctx: RunContext, source_id: str) -> dict[str, Any]:
    observations = await _tool(ctx, "read", {"doc_id": source_id, "goal": "", "full": True})
    if not observations:
        raise ToolError(f"{source_id} has no text")
    return observations[0]


# --- table plan ------------------------------------------------------------------------------


async def table_plan_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    question = state["question"]
    events: list[dict[str, Any]] = []
    reply: TablePlanReply | None = None
    usage = Usage()
    try:
        reply, usage = await structured(
            ctx,
            "planner",
            load_prompt("table_planner").render(question=clip(question, 3000)),
            TablePlanReply,
            PLAN_TOKENS,
        )
    except (ModelError, TimeoutError) as error:
        usage = failed_usage(error)
        events.append(event("error", state, message=f"table planner failed: {error}"))
    plan = finalise_plan(question, reply)
    plan = await _without_common_texts(ctx, plan)
    plan = await _with_mentioned_fields(ctx, question, plan)
    enumeration = {
        "queries": enumeration_queries(plan),
        # source id -> one letter per condition group: p(ass) f(ail) u(nknown) r(elaxed
        # pass); in the order the candidates were found
        "verdicts": {},
        "dropped": [],  # condition groups dropped as contradicting every candidate
        "done": False,
        "reason": "",
    }
    events.insert(0, event("table_plan", state, **plan.to_state()))
    plan_state = {
        **plan.to_state(),
        "max_rows": ctx.wide.max_rows,
        "max_unsettled": ctx.wide.max_unsettled,
    }
    return {
        "plan": {"task_kind": "wide", "sub_goals": [], "columns": plan.column_names},
        "table_plan": plan_state,
        "enumeration": enumeration,
        "coverage_round": 0,
        "events": events,
        "usage": usage_delta(usage),
    }


def _corpus_search(ctx: RunContext) -> Any | None:
    """The run's `search` tool when it searches an indexed corpus (exact phrases and the share
    of documents stating one: `CorpusSearchTool`), or the corpus side of a web-and-corpus
    search; else None."""
    try:
        tool = ctx.tools.get("search")
    except ToolError:
        return None
    if not hasattr(tool, "phrase_share") and getattr(tool, "corpus", None) is not None:
        tool = tool.corpus  # type: ignore[attr-defined]
    if not (hasattr(tool, "phrase_share") and hasattr(tool, "search")):
        return None
    return tool


async def _with_mentioned_fields(ctx: RunContext, question: str, plan: TablePlan) -> TablePlan:
    """Add the conditions the question states as "in the <Value> <noun>" when the documents
    label a field <noun> with exactly <Value> ("Region: Africa"), and the plan tests neither
    that field nor that value: small planners leave such unquoted restrictions out."""
    tool = _corpus_search(ctx)
    if tool is None:
        return plan
    tested_fields = {fold(c.field) for c in plan.conditions if c.field}
    tested_values = {fold(c.value) for c in plan.conditions}
    for value, noun in field_mentions(question):
        if fold(noun) in tested_fields or fold(value) in tested_values:
            continue
        phrase = f"{noun} {value}"
        try:
            hits = await asyncio.to_thread(tool.search, phrase, 5, 0, True)
            found, total = await asyncio.to_thread(tool.phrase_share, phrase)
        except CorpusError as error:  # a failed probe only means no extra condition
            log.debug("field probe %r failed: %s", phrase, error)
            continue
        if not found or (total and found > COMMON_SHARE * total):
            continue
        label = next(
            (
                item.label
                for hit in hits
                for item in parse_fields(hit.text)
                if fold(item.label) == fold(noun) and fold(item.value) == fold(value)
            ),
            None,
        )
        if label is None:
            continue
        plan.conditions = [*plan.conditions, Condition(field=label, test="equals", value=value)]
        plan.notes = [
            *plan.notes,
            f"added {label} equals {value!r}: the question says 'the {value} {noun}' and "
            f"{found:,} documents label {label} so",
        ]
        tested_fields.add(fold(label))
    return plan


COMMON_SHARE = 0.5
"""A text stated by more than this share of the searched documents cannot tell rows apart."""


async def _without_common_texts(ctx: RunContext, plan: TablePlan) -> TablePlan:
    """The plan without "contains" tests of texts most documents state ("bookworm" on every
    package page): they select nothing, and their exact searches would read the corpus."""
    tool = _corpus_search(ctx)
    if tool is None:
        return plan
    share = tool.phrase_share
    kept, notes, dropped = [], [], set()
    for condition in plan.conditions:
        if condition.test in ("contains", "equals") and words_of(condition.value):
            found, total = await asyncio.to_thread(share, condition.value)
            common = bool(total) and found > COMMON_SHARE * total
            if common and condition.test == "equals":  # may still tell a field's values apart
                plan.common_texts = [*plan.common_texts, condition.value]
            elif common:
                notes.append(
                    f"dropped {condition.field or 'text'} contains {condition.value!r}: stated "
                    f"by {found:,} of {total:,} documents, so it tells no rows apart"
                )
                dropped.add(fold(condition.value))
                continue
        kept.append(condition)
    if not notes or not kept:
        return plan
    plan.conditions, plan.notes = kept, [*plan.notes, *notes]
    plan.queries = [q for q in plan.queries if fold(q) not in dropped]
    return plan


# --- enumeration -----------------------------------------------------------------------------


def _text_condition(condition: Any) -> bool:
    return condition.test in ("contains", "equals") and bool(words_of(condition.value))


def enumeration_queries(plan: TablePlan) -> list[dict[str, Any]]:
    """Exact-phrase searches for the text the conditions require (each row's document must
    state one value of every text group, so these searches can list every row), then the
    planner's keyword queries (for what exact text cannot find)."""
    queries: list[dict[str, Any]] = []
    seen = {fold(text) for text in plan.common_texts}  # no exact search reads most pages
    for index, group in enumerate(groups(plan.conditions)):
        for condition in group:
            if _text_condition(condition) and fold(condition.value) not in seen:
                seen.add(fold(condition.value))
                queries.append(_query(condition.value, exact=True, group=index))
    for query in plan.queries:
        queries.append(_query(query, exact=False, group=None))
    return queries


def _query(text: str, *, exact: bool, group: int | None) -> dict[str, Any]:
    return {"query": text, "exact": exact, "group": group, "page": 0, "dry": 0, "done": "",
            "found": 0}  # fmt: skip


def _complete_groups(plan: TablePlan, enumeration: dict[str, Any]) -> list[int]:
    """Active groups whose every condition is a text test whose exact search ran out: every
    document that can pass such a group has been checked."""
    done_exact = {
        fold(q["query"])
        for q in enumeration["queries"]
        if q["exact"] and q["done"] == "results exhausted"
    }
    complete = []
    for index, group in enumerate(groups(plan.conditions)):
        if index in enumeration["dropped"]:
            continue
        if all(_text_condition(c) and fold(c.value) in done_exact for c in group):
            complete.append(index)
    return complete


def row_status(verdicts: str, dropped: list[int]) -> str:
    """pass / fail / unknown over the active condition groups. A candidate none of whose
    groups passes is no candidate (a page of another kind, stating none of the fields)."""
    active = [v for i, v in enumerate(verdicts) if i not in dropped]
    if "f" in active:
        return "fail"
    if "u" in active:
        return "unknown" if "p" in active else "fail"
    return "pass"


def verdicts_of(enumeration: dict[str, Any]) -> dict[str, str]:
    """Each candidate's group letters, with r (fails an "equals" test, passes it read as
    "contains") as a pass once the enumeration relaxed its equals tests, else as a fail."""
    relaxed = "p" if enumeration.get("relaxed") else "f"
    return {sid: v.replace("r", relaxed) for sid, v in enumeration["verdicts"].items()}


def _counts(enumeration: dict[str, Any]) -> tuple[int, int]:
    statuses = [row_status(v, enumeration["dropped"]) for v in verdicts_of(enumeration).values()]
    return statuses.count("pass"), statuses.count("unknown")


def _groups_to_drop(enumeration: dict[str, Any]) -> list[int]:
    """With no row after the whole search: the condition group that alone rejects the most
    candidates no other group rejects (at least MIN_DROP_EVIDENCE of them)."""
    rows, _ = _counts(enumeration)
    if rows:
        return []
    dropped = enumeration["dropped"]
    only_failing: dict[int, int] = {}
    for verdicts in verdicts_of(enumeration).values():
        if len(verdicts) - len(dropped) < 2:
            return []  # one condition left: nothing else vouches for the candidates
        failing = [i for i, v in enumerate(verdicts) if v == "f" and i not in dropped]
        if len(failing) == 1:  # the others accept it or cannot tell
            only_failing[failing[0]] = only_failing.get(failing[0], 0) + 1
    best = max(only_failing.items(), key=lambda t: t[1], default=None)
    return [best[0]] if best and best[1] >= MIN_DROP_EVIDENCE else []


def _unreadable_groups(
    enumeration: dict[str, Any], condition_groups: list[list[Any]], columns: list[Column]
) -> list[int]:
    """Groups that none of the documents they would decide can settle ("Distribution equals
    bookworm" where no package page has a Distribution field) and no table column can settle
    either: a test of nothing."""
    dropped = enumeration["dropped"]
    verdicts = list(verdicts_of(enumeration).values())
    unreadable = []
    for i, group in enumerate(condition_groups):
        if i in dropped or any(_column_for(c, columns) for c in group):
            continue
        # the candidates no other group rejects: the ones this group would decide
        others_pass = [
            v for v in verdicts if all(x != "f" for j, x in enumerate(v) if j not in (i, *dropped))
        ]
        if len(others_pass) >= MIN_DROP_EVIDENCE and all(v[i] == "u" for v in others_pass):
            unreadable.append(i)
    return unreadable


def _apply_drops(
    enumeration: dict[str, Any],
    condition_groups: list[list[Any]],
    state: ResearchState,
    columns: list[Column],
) -> list[dict[str, Any]]:
    """With no row after the whole search: first read "equals" tests as "contains"; then drop
    the groups no document or column can settle, and the group that alone rejects what the
    others accept (see `_groups_to_drop`); queries spent for lack of rows run again."""
    events = []
    if not enumeration.get("relaxed") and not _counts(enumeration)[0]:
        enumeration["relaxed"] = True  # no row meets the equals tests word for word
        if _counts(enumeration)[0]:
            return [
                event(
                    "error",
                    state,
                    message="no candidate meets the 'equals' tests exactly: read as 'contains'",
                )
            ]
        enumeration["relaxed"] = False
    for index in _unreadable_groups(enumeration, condition_groups, columns):
        enumeration["dropped"].append(index)
        events.append(
            event(
                "error",
                state,
                message=f"condition dropped: {_group_text(condition_groups[index])}: no "
                "candidate's document states it",
            )
        )
    for index in _groups_to_drop(enumeration):
        enumeration["dropped"].append(index)
        for query in enumeration["queries"]:  # the rows it hid may be on spent pages
            if query["done"].startswith(("saturated", "not needed")):
                query["done"], query["dry"] = "", 0
        events.append(
            event(
                "error",
                state,
                message=f"condition dropped: {_group_text(condition_groups[index])} rejected "
                "every candidate the other conditions accept",
            )
        )
    return events


def _enumeration_stop(ctx: RunContext, enumeration: dict[str, Any]) -> str | None:
    if len(enumeration["verdicts"]) >= ctx.wide.max_candidates:
        return f"candidate budget reached ({ctx.wide.max_candidates} documents checked)"
    share = ctx.wide.enumeration_share * ctx.budget.max_seconds
    if time.monotonic() - ctx.started >= share:
        return f"enumeration time budget reached ({share:.0f} s)"
    if ctx.seconds_left() <= 0:
        return f"time budget reached ({ctx.budget.max_seconds:.0f} s)"
    return None


async def enumerate_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    plan = TablePlan.from_state(state["table_plan"])
    enumeration = copy.deepcopy(state["enumeration"])
    condition_groups = groups(plan.conditions)
    drop_events = []
    if all(q["done"] for q in enumeration["queries"]):  # only a finished search may drop
        drop_events = _apply_drops(enumeration, condition_groups, state, plan.columns)
    current = next((q for q in enumeration["queries"] if not q["done"]), None)
    if current is not None and not current["exact"]:
        complete = _complete_groups(plan, enumeration)
        if complete and _counts(enumeration)[0]:
            for query in enumeration["queries"]:
                if not query["done"]:
                    query["done"] = "not needed: the exact searches listed every possible row"
            current = None
    stop = _enumeration_stop(ctx, enumeration)
    if current is None or stop:
        rows, unsettled = _counts(enumeration)
        reason = stop or _saturation_reason(enumeration)
        enumeration["done"], enumeration["reason"] = True, reason
        spent = {q["query"]: q["done"] or "not run" for q in enumeration["queries"]}
        return {
            "enumeration": enumeration,
            "events": [
                *drop_events,
                event(
                    "enumerate",
                    state,
                    done=True,
                    reason=reason,
                    rows=rows,
                    unsettled=unsettled,
                    checked=len(enumeration["verdicts"]),
                    queries=spent,
                    dropped=[_group_text(condition_groups[i]) for i in enumeration["dropped"]],
                ),
            ],
        }
    page_size = ctx.wide.page_size
    arguments: dict[str, Any] = {
        "query": current["query"],
        "k": page_size,
        "offset": current["page"] * page_size,
    }
    if current["exact"]:
        arguments["exact"] = True
    started = time.perf_counter()
    events = [*drop_events, event("tool_call", state, tool="search", arguments=arguments)]
    calls = 1
    error = None
    try:
        hits = await _tool(ctx, "search", arguments)
    except ToolError as exc:
        hits, error = [], str(exc)
    rows_before, unsettled_before = _counts(enumeration)
    new = [h for h in hits if h["source_id"] not in enumeration["verdicts"]]
    room = ctx.wide.max_candidates - len(enumeration["verdicts"])
    for hit in new[: max(0, room)]:
        try:
            document = await _read_full(ctx, hit["source_id"])
        except ToolError:
            continue
        calls += 1
        text, title = document["text"], document.get("title", "")
        fields = parse_fields(text)
        letters: list[str] = []
        for group in condition_groups:
            letter = check_membership(group, text, fields, title).verdict[0]
            if letter == "f" and any(c.test == "equals" for c in group):
                loose = [c.model_copy(update={"test": "contains"}) if c.test == "equals" else c
                         for c in group]  # fmt: skip
                relaxed = [check_condition(c, text, fields, title) for c in loose]
                if any(r.verdict == "pass" for r in relaxed):  # still alternatives
                    letter = "r"
            letters.append(letter)
        enumeration["verdicts"][document["source_id"]] = "".join(letters)
    rows, unsettled = _counts(enumeration)
    gained = (rows - rows_before) + (unsettled - unsettled_before)
    current["page"] += 1
    current["found"] += gained
    current["dry"] = 0 if gained > 0 else current["dry"] + 1
    if error:
        current["done"] = f"search failed: {error}"
    elif len(hits) < page_size:
        current["done"] = "results exhausted"
    elif not current["exact"] and current["dry"] >= ctx.wide.patience:
        current["done"] = f"saturated ({current['dry']} pages without a new row)"
    elif current["page"] >= ctx.wide.max_pages_per_query * (4 if current["exact"] else 1):
        current["done"] = f"page limit ({current['page']} pages)"
    if all(q["done"] for q in enumeration["queries"]):
        events.extend(_apply_drops(enumeration, condition_groups, state, plan.columns))
    rows, unsettled = _counts(enumeration)
    events.append(
        event(
            "enumerate",
            state,
            query=current["query"],
            page=current["page"],
            hits=len(hits),
            new=len(new),
            new_rows=max(0, rows - rows_before),
            rows=rows,
            unsettled=unsettled,
            query_done=current["done"],
            error=error,
        )
    )
    return {
        "enumeration": enumeration,
        "events": events,
        "usage": {"tool_calls": calls, "steps": 1, "tool_seconds": time.perf_counter() - started},
    }


def _saturation_reason(enumeration: dict[str, Any]) -> str:
    exhausted = [q["query"] for q in enumeration["queries"] if q["exact"] and
                 q["done"] == "results exhausted"]  # fmt: skip
    if any(q["done"].startswith("not needed") for q in enumeration["queries"]):
        return (
            "complete: every document stating "
            + " / ".join(map(repr, exhausted))
            + (" was checked")
        )
    return "saturated: every query is spent (no new rows on its last pages)"


def _group_text(group: list[Any]) -> str:
    return " or ".join(f"{c.field or 'text'} {c.test} {c.value!r}" for c in group)


def route_enumeration(state: ResearchState) -> str | list[Send]:
    """Next page, or the fan-out to one `fill` branch per entity, or straight to coverage."""
    enumeration = state.get("enumeration") or {}
    if not enumeration.get("done"):
        return "enumerate"
    return fill_sends(state) or "coverage"


def fill_sends(state: ResearchState) -> list[Send]:
    """One `fill` branch per member, then per unsettled candidate (capped), up to max_rows."""
    enumeration = state["enumeration"]
    plan = state["table_plan"]
    dropped = enumeration["dropped"]
    key = plan["key_column"]
    columns = [c["name"] for c in plan["columns"] if c["name"] != key]
    letters = verdicts_of(enumeration)
    status = {sid: row_status(v, dropped) for sid, v in letters.items()}
    members = [sid for sid, s in status.items() if s == "pass"]
    unsettled = [sid for sid, s in status.items() if s == "unknown"]
    chosen = [*members, *unsettled[: plan.get("max_unsettled", 60)]][: plan.get("max_rows", 80)]
    return [
        _send(
            state,
            {
                "mode": "primary",
                "row_id": sid,
                "source_id": sid,
                "columns": columns,
                "status": status[sid],
                "unknown_groups": [
                    i for i, v in enumerate(letters[sid]) if v == "u" and i not in dropped
                ],
            },
        )
        for sid in chosen
    ]


def _send(state: ResearchState, task: dict[str, Any]) -> Send:
    return Send(
        "fill",
        {
            "question": state["question"],
            "table_plan": state["table_plan"],
            "task": task,
            "usage": {"steps": (state.get("usage") or {}).get("steps", 0)},
        },
    )


# --- fill (one branch per entity) ------------------------------------------------------------


def key_value(title: str, fields: list[DocField], key_column: str) -> tuple[str, str]:
    """The row's name: a field labelled exactly like the key column ("Package: x"), else the
    document's title without a trailing description ("x — what it is")."""
    for match in best_fields(fields, key_column, limit=1, min_score=1.5):
        value = match.field.value.strip()
        if value and len(value) <= 120:
            return value, "field"
    for separator in (" — ", " – ", " | "):
        if separator in title:
            return title.split(separator, 1)[0].strip(), "title"
    return title.strip(), "title"


class FillInput(TypedDict):
    """What one `fill` branch receives (the `Send` payload), not the whole state."""

    question: str
    table_plan: dict[str, Any]
    task: dict[str, Any]
    usage: dict[str, float]


async def fill_node(task_state: FillInput, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Fill one entity's cells (mode primary: its own document; mode followup: another
    document about the same entity, for the cells still empty)."""
    ctx = runtime.context
    plan = TablePlan.from_state(task_state["table_plan"])
    task = task_state["task"]
    state: ResearchState = {"usage": task_state.get("usage") or {}}
    async with _slots(ctx):
        if task["mode"] == "followup":
            return await _fill_followup(ctx, state, plan, task)
        try:
            document = await _read_full(ctx, task["source_id"])
        except ToolError as error:
            return {"events": [event("error", state, message=f"cannot read a row: {error}")]}
        key, key_how = key_value(
            document.get("title", ""), parse_fields(document["text"]), plan.key_column
        )
        status, unknown = task["status"], list(task["unknown_groups"])
        spent = Usage()
        if status == "unknown":  # settle what no cell can settle before extracting anything
            look = _needs_document_check(plan, unknown)
            if look:
                verdict, spent = await _check_groups(ctx, plan, document, key, look)
                if verdict != "unknown":
                    unknown = [i for i in unknown if i not in look]
                if verdict == "fail" or (verdict == "pass" and not unknown):
                    status = verdict
                if verdict == "unknown":  # no check left: what no cell can settle stays open
                    row = {"source_id": task["source_id"], "key": key, "status": "unknown",
                           "unknown_groups": unknown, "checked": True, "cells": {}}  # fmt: skip
                    return {"rows": {task["row_id"]: row}, "usage": usage_delta(spent)}
                if verdict == "fail":
                    row = {"source_id": task["source_id"], "key": key, "status": "fail",
                           "settled_by": "model check", "cells": {}}  # fmt: skip
                    return {
                        "rows": {task["row_id"]: row},
                        "events": [
                            event(
                                "row",
                                state,
                                key=key,
                                source_id=task["source_id"],
                                title=document.get("title", ""),
                                cells={},
                                rejected="a condition does not hold",
                            )
                        ],
                        "usage": usage_delta(spent),
                    }
        columns = [c for c in plan.columns if c.name in task["columns"]]
        cells, update = await _extract(ctx, state, plan, document, key, columns)
    update["usage"] = add_usage(update.get("usage"), usage_delta(spent))
    cells[plan.key_column] = {
        "value": key,
        "raw": key,
        "source_id": task["source_id"],
        "how": key_how,
    }
    row = {
        "source_id": task["source_id"],
        "url": document.get("url", ""),
        "title": document.get("title", ""),
        "key": key,
        "status": status,
        "unknown_groups": unknown,
        "checked": status != "unknown" and task["status"] == "unknown",
        "cells": cells,
    }
    update["rows"] = {task["row_id"]: row}
    return update


async def _extract(
    ctx: RunContext,
    state: ResearchState,
    plan: TablePlan,
    document: dict[str, Any],
    key: str,
    columns: list[Column],
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Cells for `columns` from one document: excerpt, one constrained call, grounding."""
    text, title, sid = document["text"], document.get("title", ""), document["source_id"]
    fields = parse_fields(text)
    events: list[dict[str, Any]] = []
    usage = Usage()
    reply = None
    labelled = {}
    if ctx.wide.extraction == "auto":
        for column in columns:
            answer = label_answer(column, fields)
            if answer is not None:
                labelled[column.name] = answer
    asked = [c for c in columns if c.name not in labelled]
    excerpt = build_excerpt(title, text, fields, asked)
    schema, names = extraction_schema(asked)
    if asked and ctx.seconds_left() > 0:
        field_lines = "\n".join(
            f"- {name}: {column.name} ({column.type})"
            + (f" — {clip(column.description, 160)}" if column.description else "")
            for name, column in names.items()
        )
        messages = load_prompt("cell_extractor").render(
            entity=plan.entity,
            row=quote_untrusted(key),
            fields=field_lines,
            title=quote_untrusted(title),
            excerpt=quote_untrusted(excerpt.text),
        )
        try:
            reply, usage = await structured(
                ctx, "reflector", messages, schema, 40 + 48 * len(columns)
            )
        except (ModelError, TimeoutError) as error:
            usage = failed_usage(error)
            events.append(event("error", state, message=f"extraction failed for {key!r}: {error}"))
    cells: dict[str, dict[str, Any]] = {}
    facts: list[dict[str, Any]] = []
    passages: list[dict[str, Any]] = []
    by_name = {field_name(i, c): c for i, c in enumerate(columns)}
    for name, column in [*names.items(), *((n, c) for n, c in by_name.items()
                                           if c.name in labelled)]:  # fmt: skip
        raw = getattr(reply, name, None) if reply is not None else None
        value: str | None
        start: int | None
        end: int | None
        if column.name in labelled:
            value, item = labelled[column.name]
            raw, how, start, end = item.value or value, "label", item.start, item.end
        else:
            value, how, start, end = _grounded(column, raw, excerpt)
        if value is None:
            fallback = field_fallback(column, fields)
            if fallback is not None:
                value, how = normalise(column, fallback[0]), "field"
                start, end = fallback[1].start, fallback[1].end
        cells[column.name] = {
            "value": value or "",
            "raw": "" if raw is None else str(raw),
            "source_id": sid,
            "url": document.get("url", ""),
            "title": title,
            "start": start,
            "end": end,
            "how": how if value else "empty",
        }
        if value and start is not None and end is not None and start >= 0:
            line = text[start:end]
            passages.append({"text": line, "start": start, "end": end})
            facts.append(
                {
                    "subject": key,
                    "attribute": column.name,
                    "value": source_wording(line, raw if how == "model" else None),
                    "source_id": sid,
                    "run_id": ctx.run_id,
                    "confidence": 1.0 if how == "model" else 0.8,
                    "start": start,
                    "end": end,
                }
            )
    if ctx.cache is not None and facts:
        await asyncio.to_thread(ctx.cache.record_facts, facts)
    events.append(
        event(
            "row",
            state,
            key=key,
            source_id=sid,
            title=title,
            url=document.get("url", ""),
            cells={c: cell["value"] for c, cell in cells.items()},
            how={c: cell["how"] for c, cell in cells.items()},
        )
    )
    sources = {sid: {"url": document.get("url", ""), "title": title, "passages": passages}}
    return cells, {
        "events": events,
        "sources": sources,
        "usage": {**usage_delta(usage), "tool_calls": 1},
    }


def source_wording(line: str, copied: Any = None) -> str:
    """What the source says, for the fact store (the table holds the normalised value): a
    text value the model copied verbatim, else the value part of the labelled line."""
    if isinstance(copied, str) and copied.strip() and fold(copied) in fold(line):
        return " ".join(copied.split())
    body = line.strip().lstrip("-*\u2022 ")
    label, sep, value = body.partition(": ")
    return " ".join((value if sep and len(label) <= 60 else body).split())[:300]


def _grounded(
    column: Column, raw: Any, excerpt: Any
) -> tuple[str | None, str, int | None, int | None]:
    """The model's value if a line of the excerpt that can state the column states it,
    normalised, with its line's span."""
    if raw is None:
        return None, "empty", None, None
    related = related_lines(excerpt, column)
    if column.type == "number":
        try:
            number = ground_number(float(raw), related)
        except (TypeError, ValueError):
            number = None
        if number is None:
            return None, "ungrounded", None, None
        start, end = excerpt.span_of(format_number(number))
        if start is None:
            start, end = excerpt.span_of_number(number)
        return format_number(number), "model", start, end
    text = ground_text(str(raw), related)
    if text is None:
        return None, "ungrounded", None, None
    start, end = excerpt.span_of(text)
    return normalise(column, text), "model", start, end


async def _fill_followup(
    ctx: RunContext, state: ResearchState, plan: TablePlan, task: dict[str, Any]
) -> dict[str, Any]:
    """Empty cells of one row from another document about the same entity."""
    key = task["key"]
    query = f"{key} {' '.join(task['columns'])}"
    events = [event("tool_call", state, tool="search", arguments={"query": query, "k": 5})]
    try:
        hits = await _tool(ctx, "search", {"query": query, "k": 5})
    except ToolError as error:
        return {"events": [*events, event("error", state, message=str(error))]}
    wanted = fold(key)
    match = next(
        (
            h
            for h in hits
            if h["source_id"] not in task["exclude"]
            and key_value(h.get("title", ""), [], plan.key_column)[0]
            and fold(key_value(h.get("title", ""), [], plan.key_column)[0]) == wanted
        ),
        None,
    )
    if match is None:
        return {"events": events, "usage": {"tool_calls": 1}}
    try:
        document = await _read_full(ctx, match["source_id"])
    except ToolError as error:
        return {"events": [*events, event("error", state, message=str(error))]}
    columns = [c for c in plan.columns if c.name in task["columns"]]
    cells, update = await _extract(ctx, state, plan, document, key, columns)
    update["events"] = [*events, *update["events"]]
    update["usage"]["tool_calls"] = update["usage"].get("tool_calls", 0) + 2
    update["rows"] = {task["row_id"]: {"cells": {c: v for c, v in cells.items() if v["value"]}}}
    return update


# --- coverage --------------------------------------------------------------------------------


def _column_for(condition: Any, columns: list[Column]) -> Column | None:
    if not condition.field.strip():
        return None
    scored = [(match_score(condition.field, c.name), c) for c in columns]
    best = max(scored, key=lambda t: t[0], default=(0.0, None))
    return best[1] if best[0] >= 1.0 else None


def _settle_from_cells(plan: TablePlan, row: dict[str, Any]) -> str:
    """pass / fail / unknown for the row's unknown condition groups, read from its cells."""
    condition_groups = groups(plan.conditions)
    verdicts = []
    for index in row.get("unknown_groups", []):
        results = []
        for condition in condition_groups[index]:
            column = _column_for(condition, plan.columns)
            cell = row["cells"].get(column.name, {}) if column else {}
            if not cell.get("value"):
                results.append("unknown")
                continue
            pseudo = DocField(column.name, column.name, cell["value"], 0, 0)  # type: ignore[union-attr]
            results.append(check_condition(condition, "", [pseudo]).verdict)
        verdicts.append(
            "pass" if "pass" in results else "unknown" if "unknown" in results else "fail"
        )
    if "fail" in verdicts:
        return "fail"
    return "unknown" if "unknown" in verdicts else "pass"


def _take_check(ctx: RunContext) -> bool:
    """One of the run's targeted membership checks (max_doubtful_checks), if any are left."""
    used = int(ctx.scratch.get("wide_checks", 0))
    if used >= ctx.wide.max_doubtful_checks or ctx.seconds_left() <= 0:
        return False
    ctx.scratch["wide_checks"] = used + 1
    return True


async def _check_groups(
    ctx: RunContext, plan: TablePlan, document: dict[str, Any], key: str, indices: list[int]
) -> tuple[str, Usage]:
    """One targeted check per unsettled condition group: the model finds the words of the
    document that decide it (the lines stating its value are shown first), and the code
    decides: the quote must be in the document and must itself meet the condition (hold the
    value, or a number that passes the comparison). pass / fail / unknown (no check left, or
    the model failed)."""
    condition_groups = groups(plan.conditions)
    usage = Usage()
    text = document["text"]
    fields = parse_fields(text)
    for index in indices:
        if not _take_check(ctx):
            return "unknown", usage
        group = condition_groups[index]
        condition_text = " or ".join(
            f"{c.field or 'the text'} {c.test.replace('_', ' ')} {c.value}" for c in group
        )
        columns = [Column(c.field or c.value, "text", condition_text) for c in group]
        excerpt = build_excerpt(document.get("title", ""), text, fields, columns)
        for condition in group:  # the lines that state the value, where the document has them
            line, start, end = line_around(text, condition.value)
            if line and start is not None and end is not None:
                excerpt.lines.insert(1, (line, start, end))
        messages = load_prompt("condition_check").render(
            row=quote_untrusted(key),
            condition=condition_text,
            title=quote_untrusted(document.get("title", "")),
            excerpt=quote_untrusted(excerpt.text),
        )
        try:
            verdict, spent = await structured(ctx, "reflector", messages, ConditionVerdict, 120)
        except (ModelError, TimeoutError) as error:
            usage.add(failed_usage(error))
            return "unknown", usage
        usage.add(spent)
        grounded = bool(verdict.quote.strip()) and fold(verdict.quote) in fold(excerpt.text)
        if not (verdict.holds and grounded and any(quote_meets(c, verdict.quote) for c in group)):
            return "fail", usage
    return "pass", usage


def _needs_document_check(plan: TablePlan, indices: list[int]) -> list[int]:
    """The unsettled groups no column can settle (their field is not a table column)."""
    condition_groups = groups(plan.conditions)
    return [
        i for i in indices if not any(_column_for(c, plan.columns) for c in condition_groups[i])
    ]


async def coverage_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    plan = TablePlan.from_state(state["table_plan"])
    rows = state.get("rows") or {}
    round_ = int(state.get("coverage_round") or 0)
    updates: dict[str, dict[str, Any]] = {}
    usage = Usage()
    checked = 0
    for row_id, row in rows.items():
        if row.get("status") != "unknown":
            continue
        status = _settle_from_cells(plan, row)
        how = "cells"
        if status == "unknown" and not row.get("checked") and ctx.seconds_left() > 0:
            try:
                document = await _read_full(ctx, row["source_id"])
            except ToolError:
                document = None
            if document is not None:
                status, spent = await _check_groups(
                    ctx, plan, document, row["key"], row.get("unknown_groups", [])
                )
                usage.add(spent)
            checked += 1
            how = "model check"
        if status != "unknown" or how == "model check":
            updates[row_id] = {"status": status, "settled_by": how, "checked": True}
    merged = {k: {**v, **updates.get(k, {})} for k, v in rows.items()}
    members = [r for r in merged.values() if r.get("status") == "pass"]
    doubtful = [r for r in merged.values() if r.get("status") == "unknown"]
    followups: list[dict[str, Any]] = []
    empty_cells = 0
    for row_id, row in merged.items():
        if row.get("status") != "pass":
            continue
        empty = [c.name for c in plan.columns if not row["cells"].get(c.name, {}).get("value")]
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


def route_coverage(state: ResearchState) -> str | list[Send]:
    followups = state.get("followups") or []
    if not followups:
        return "table_answer"
    return [_send(state, task) for task in followups]


# --- the table -------------------------------------------------------------------------------


async def table_answer_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    plan = TablePlan.from_state(state["table_plan"])
    enumeration = state.get("enumeration") or {}
    answer, citations, table = render_table_answer(
        plan, state.get("rows") or {}, list(enumeration.get("verdicts", {})), enumeration
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
