"""Filling one row (a `fill` branch per row): its cells from the row's own evidence.

- A table row's cells under the asked-for columns are read as they stand (no model call).
- Other cells come from one schema-constrained extraction call over the row's own text (an
  entry, a section, a page's goal-relevant lines) and are kept only when that text states them
  (grounding); a labelled field that answers a column outright needs no call either.
- A row whose membership its text did not settle is checked first (`checks.check_groups`).
- Mode followup: the cells still empty after the primary fill, from another document about the
  same entity (the entity's own page for a row found in a list).
Each cell is stored as a fact with its source span."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any, TypedDict

from langgraph.runtime import Runtime

from agent.llm.base import ModelError, Usage
from agent.prompts import load_prompt
from agent.state import ResearchState, RunContext, add_usage
from agent.steps import event, failed_usage, structured, usage_delta
from agent.text import clip, quote_untrusted
from agent.wide.cells import (
    Excerpt,
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
from agent.wide.checks import check_groups, needs_document_check
from agent.wide.enumeration import candidate
from agent.wide.fields import fold, format_number, parse_fields
from agent.wide.membership import groups
from agent.wide.pairs import paired_cells
from agent.wide.reading import call_tool, fill_slots, read_full, read_span
from agent.wide.rows import CandidateRow, RowKind, example_pattern, merge_key, page_key
from agent.wide.table_plan import Column, TablePlan, column_example
from agent.wide.verdicts import GroupVerdict, group_verdict
from tools.base import ToolError


class FillInput(TypedDict):
    """What one `fill` branch receives (the `Send` payload), not the whole state."""

    question: str
    table_plan: dict[str, Any]
    task: dict[str, Any]
    usage: dict[str, float]


def row_document(task: dict[str, Any], row: CandidateRow) -> dict[str, Any]:
    """A listing row as a small document: its own text, titled with where it sits."""
    place = " > ".join(p for p in (task.get("title", ""), row.where, row.group) if p)
    return {
        "source_id": row.source_id,
        "url": task.get("url", ""),
        "title": place,
        "text": task.get("evidence") or "",
        "page_title": task.get("title", ""),
    }


async def fill_node(task_state: FillInput, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Fill one row (mode primary: from its own evidence; mode followup: another document
    about the same entity, for the cells still empty)."""
    ctx = runtime.context
    plan = TablePlan.from_state(task_state["table_plan"])
    task = task_state["task"]
    state: ResearchState = {"usage": task_state.get("usage") or {}}
    async with fill_slots(ctx):
        if task["mode"] == "followup":
            return await _fill_followup(ctx, state, plan, task)
        row = candidate(task)
        offset = 0
        try:
            if row.is_page:
                document = await read_full(ctx, row.source_id)
            else:  # its own text: kept with it, or (kept out of the state) read again
                own = await read_span(ctx, row.source_id, row.start, row.end, task.get("evidence"))
                task = {**task, "evidence": own["text"]}
                document, offset = row_document(task, row), row.start
        except ToolError as error:
            return {"events": [event("error", state, message=f"cannot read a row: {error}")]}
        key = row.key
        status, unknown = task["status"], list(task["unknown_groups"])
        spent = Usage()
        looked: list[dict[str, Any]] = []
        if status == "unknown" and row.pointer and unknown:
            # an entry of contents: what it does not state, its own page may
            page, looked = await own_page(ctx, state, plan, key, [row.source_id])
            if page is None:  # its line states nothing a check could quote: it stays open
                return _left_open(task["row_id"], row, key, unknown, looked, spent)
            document, offset, row = page, 0, _as_page(row, page)
            task = {**task, "url": page.get("url", ""), "title": page.get("title", "")}
            status, unknown = _settle_on_page(plan, page, unknown)
        if status == "unknown":  # settle what no cell can settle before extracting anything
            look = needs_document_check(plan, unknown)
            if look:
                verdict, spent = await check_groups(ctx, plan, document, key, look)
                if verdict != "unknown":
                    unknown = [i for i in unknown if i not in look]
                if verdict == "fail" or (verdict == "pass" and not unknown):
                    status = verdict
                if verdict == "unknown":  # no check left: what no cell can settle stays open
                    return _left_open(task["row_id"], row, key, unknown, looked, spent)
                if verdict == "fail":
                    return _rejected(state, task["row_id"], row, key, document, "model check",
                                     looked, spent)  # fmt: skip
        if status == "fail":  # its own page says otherwise
            return _rejected(state, task["row_id"], row, key, document, "own page", looked, spent)
        columns = [c for c in plan.columns if c.name in task["columns"]]
        listed = _listed_cells(plan, row, task) if not row.is_page else {}
        asked = [c for c in columns if c.name not in listed]
        cells, update = await _extract(ctx, state, plan, document, key, asked, offset, row)
        cells.update(listed)
    update["usage"] = add_usage(update.get("usage"), usage_delta(spent))
    if looked:
        update["events"] = [*looked, *update.get("events", [])]
        update["usage"]["tool_calls"] = update["usage"].get("tool_calls", 0) + _tool_calls(looked)
    cells[plan.key_column] = {
        "value": key,
        "raw": key,
        "source_id": row.source_id,
        "url": task.get("url", ""),
        "title": task.get("title", ""),
        "start": row.start if not row.is_page else None,
        "end": row.end if not row.is_page else None,
        "how": row.key_how,
    }
    filled = {
        "source_id": row.source_id,
        "url": task.get("url") or document.get("url", ""),
        "title": task.get("title") or document.get("title", ""),
        "key": key,
        "merge_key": merge_key(key),
        "status": status,
        "unknown_groups": unknown,
        "checked": status != "unknown" and task["status"] == "unknown",
        "cells": cells,
    }
    update["rows"] = {task["row_id"]: filled}
    return update


def _listed_cells(plan: TablePlan, row: CandidateRow, task: dict[str, Any]) -> dict[str, Any]:
    """A table row's cells under the columns they answer, as the table states them (a cell
    pairing a call and its result split between the columns asking for each side)."""
    cells = {}
    paired = paired_cells(plan.columns, plan.key_column, row.columns, row.values)
    for column in plan.columns:
        if column.name == plan.key_column:
            continue
        source = row.columns.get(column.name)
        if column.name in paired:
            value = paired[column.name]
        elif source:
            value = row.values.get(source, "").strip()  # an empty cell stays empty
        else:
            continue
        cells[column.name] = {
            "value": normalise(column, value) if value else "",
            "raw": value,
            "source_id": row.source_id,
            "url": task.get("url", ""),
            "title": task.get("title", ""),
            "start": row.start,
            "end": row.end,
            "how": "listing" if value else "empty",
        }
    return cells


async def _extract(
    ctx: RunContext,
    state: ResearchState,
    plan: TablePlan,
    document: dict[str, Any],
    key: str,
    columns: list[Column],
    offset: int = 0,
    row: CandidateRow | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Cells for `columns` from one document (or a row's own text at `offset` in it): labelled
    fields read directly, the rest by one constrained call over an excerpt, grounded."""
    text, title, sid = document["text"], document.get("title", ""), document["source_id"]
    own_text = row is not None and not row.is_page
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
    pairs = [*names.items(), *((n, c) for n, c in by_name.items() if c.name in labelled)]
    page_url, page_title = document.get("url", ""), document.get("page_title", title)
    for name, column in pairs:
        raw = getattr(reply, name, None) if reply is not None else None
        value: str | None
        start: int | None
        end: int | None
        if column.name in labelled:
            value, item = labelled[column.name]
            raw, how, start, end = item.value or value, "label", item.start, item.end
        else:
            value, how, start, end = grounded(column, raw, excerpt, whole=own_text)
        if value is None:
            fallback = field_fallback(column, fields)
            if fallback is not None:
                value, how = normalise(column, fallback[0]), "field"
                start, end = fallback[1].start, fallback[1].end
        if start is not None and start >= 0 and end is not None:
            line = text[start:end]
            start, end = start + offset, end + offset
        else:
            line = ""
        cells[column.name] = {
            "value": value or "",
            "raw": "" if raw is None else str(raw),
            "source_id": sid,
            "url": page_url,
            "title": page_title,
            "start": start,
            "end": end,
            "how": how if value else "empty",
        }
        if value and line:
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
            title=page_title,
            url=page_url,
            cells={c: cell["value"] for c, cell in cells.items()},
            how={c: cell["how"] for c, cell in cells.items()},
        )
    )
    sources = {sid: {"url": page_url, "title": page_title, "passages": passages}}
    return cells, {
        "events": events,
        "sources": sources,
        "usage": {**usage_delta(usage), "tool_calls": 0 if own_text else 1},
    }


def shaped_like_example(column: Column, value: str) -> bool:
    """Whether a value is built exactly like the column's example when that is an identifier
    or a number with parts ("C.3" for "e.g. C.4", "CVE-2021-0042" for "e.g. CVE-2019-12345"):
    a value of that shape is the column's on whatever line states it (a section number in a
    page's title), unlike a bare number or a word."""
    example = column_example(column.description)
    pattern = example_pattern(example) if re.search(r"[^\W\d_]", example) else None
    return pattern is not None and bool(pattern.fullmatch(value.strip()))


def source_wording(line: str, copied: Any = None) -> str:
    """What the source says, for the fact store (the table holds the normalised value): a
    text value the model copied verbatim, else the value part of the labelled line."""
    if isinstance(copied, str) and copied.strip() and fold(copied) in fold(line):
        return " ".join(copied.split())
    body = line.strip().lstrip("-*\u2022 ")
    label, sep, value = body.partition(": ")
    return " ".join((value if sep and len(label) <= 60 else body).split())[:300]


def grounded(
    column: Column, raw: Any, excerpt: Excerpt, *, whole: bool = False
) -> tuple[str | None, str, int | None, int | None]:
    """The model's value if the excerpt states it, normalised, with its line's span. On a
    page, only lines that can state the column count (a number on an unrelated line is not
    the column's value); in a row's own text (`whole`), every line is the row's, and a date
    is the column's wherever a sentence states it ("was released on 14 March 2024")."""
    if raw is None:
        return None, "empty", None, None
    whole = whole or column.type == "date"
    related = excerpt.text if whole else related_lines(excerpt, column)
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
    if text is None and shaped_like_example(column, str(raw)):
        text = ground_text(str(raw), excerpt.text)  # built like the column's example: its own
    if text is None:
        return None, "ungrounded", None, None
    start, end = excerpt.span_of(text)
    return normalise(column, text), "model", start, end


def _rejected(
    state: ResearchState,
    row_id: str,
    row: CandidateRow,
    key: str,
    document: dict[str, Any],
    settled_by: str,
    looked: list[dict[str, Any]],
    spent: Usage,
) -> dict[str, Any]:
    """The update for a row a condition turned out not to hold for (no cells are read)."""
    rejected = {"source_id": row.source_id, "key": key, "status": "fail",
                "settled_by": settled_by, "cells": {}}  # fmt: skip
    shown = event("row", state, key=key, source_id=row.source_id,
                  title=document.get("title", ""), cells={},
                  rejected="a condition does not hold")  # fmt: skip
    return {
        "rows": {row_id: rejected},
        "events": [*looked, shown],
        "usage": {**usage_delta(spent), "tool_calls": _tool_calls(looked)},
    }


def _left_open(
    row_id: str,
    row: CandidateRow,
    key: str,
    unknown: list[int],
    looked: list[dict[str, Any]],
    spent: Usage,
) -> dict[str, Any]:
    """The update for a row whose membership nothing left could settle (no cells are read)."""
    kept = {"source_id": row.source_id, "key": key, "status": "unknown",
            "unknown_groups": unknown, "checked": True, "cells": {}}  # fmt: skip
    return {
        "rows": {row_id: kept},
        "events": looked,
        "usage": {**usage_delta(spent), "tool_calls": _tool_calls(looked)},
    }


def _tool_calls(events: list[dict[str, Any]]) -> int:
    """How many tool calls a list of events records."""
    return sum(1 for e in events if e.get("type") == "tool_call")


def _as_page(row: CandidateRow, page: dict[str, Any]) -> CandidateRow:
    """The row read from its own page: the page is its evidence from now on."""
    return replace(row, source_id=page["source_id"], kind=RowKind.PAGE, start=0,
                   end=len(page.get("text", "")), values={}, columns={})  # fmt: skip


def _settle_on_page(
    plan: TablePlan, page: dict[str, Any], unknown: list[int]
) -> tuple[str, list[int]]:
    """The row's open condition groups read on its own page, as a page row's are (labelled
    fields, text, title): the status and the groups still open."""
    text, title = page.get("text", ""), page.get("title", "")
    fields = parse_fields(text)
    condition_groups = groups(plan.conditions)
    still = []
    for index in unknown:
        verdict = group_verdict(condition_groups[index], text, fields, title)
        if verdict is GroupVerdict.FAIL:
            return "fail", []
        if verdict is not GroupVerdict.PASS:
            still.append(index)
    return ("unknown" if still else "pass"), still


async def own_page(
    ctx: RunContext,
    state: ResearchState,
    plan: TablePlan,
    key: str,
    exclude: list[str],
    columns: list[str] | None = None,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The entity's own page: a search for its name (and the columns wanted of it), taking the
    first result, not in `exclude`, whose title names the row as its name; with the events
    of looking (None when no such page)."""
    query = " ".join([key, *(columns or [])])
    events = [event("tool_call", state, tool="search", arguments={"query": query, "k": 5})]
    try:
        hits = await call_tool(ctx, "search", {"query": query, "k": 5})
    except ToolError as error:
        return None, [*events, event("error", state, message=str(error))]
    wanted = merge_key(key)
    match = next(
        (
            h
            for h in hits
            if h["source_id"] not in exclude
            and merge_key(page_key(h.get("title", ""), [], plan.key_column)[0]) == wanted
        ),
        None,
    )
    if match is None:
        return None, events
    events.append(event("tool_call", state, tool="read", arguments={"id": match["source_id"]}))
    try:
        document = await read_full(ctx, match["source_id"])
    except ToolError as error:
        return None, [*events, event("error", state, message=str(error))]
    return document, events


async def _fill_followup(
    ctx: RunContext, state: ResearchState, plan: TablePlan, task: dict[str, Any]
) -> dict[str, Any]:
    """Empty cells of one row from another document about the same entity: its own page,
    found by a search for the row's name and the missing columns."""
    key = task["key"]
    document, events = await own_page(ctx, state, plan, key, task["exclude"], task["columns"])
    calls = _tool_calls(events)
    if document is None:
        return {"events": events, "usage": {"tool_calls": calls}}
    columns = [c for c in plan.columns if c.name in task["columns"]]
    cells, update = await _extract(ctx, state, plan, document, key, columns)
    update["events"] = [*events, *update["events"]]
    update["usage"]["tool_calls"] = update["usage"].get("tool_calls", 0) + calls
    update["rows"] = {task["row_id"]: {"cells": {c: v for c, v in cells.items() if v["value"]}}}
    return update
