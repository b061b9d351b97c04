"""The answer of a wide question: one markdown table in a fence, with exactly the planned
column names and one row per entity, then a sources list mapping rows to the documents their
cells came from. The same rows are returned as structured data (`ResearchResult.table`)."""

from __future__ import annotations

from typing import Any

from agent.wide.fields import fold, words
from agent.wide.membership import groups
from agent.wide.table_plan import TablePlan, group_text
from agent.wide.verdicts import GroupVerdict


def cell_text(value: str) -> str:
    """A value that cannot break a markdown table row: one line, no pipes."""
    return " ".join(str(value).replace("|", "/").split())


def markdown_table(columns: list[str], table: list[dict[str, str]]) -> str:
    lines = [
        "| " + " | ".join(cell_text(c) for c in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in table:
        lines.append("| " + " | ".join(cell_text(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


UNVERIFIED_MARK = " (unverified)"


def table_rows(
    plan: TablePlan, rows: dict[str, dict[str, Any]], order: list[str], unverified: str = "drop"
) -> list[dict[str, Any]]:
    """The member rows in the order they were found, one per entity: rows naming the same
    entity (by their merge key) are merged, the first one's cells winning. Rows whose
    membership could not be verified are left out, or kept and marked (`unverified="mark"`)."""
    shown = ("pass", "unknown") if unverified == "mark" else ("pass",)
    position = {row_id: i for i, row_id in enumerate(order)}
    ranked = sorted(
        (r for r in rows.items() if r[1].get("status") in shown and r[1].get("key")),
        key=lambda item: (item[1].get("status") != "pass", position.get(item[0], len(order))),
    )
    merged: dict[str, dict[str, Any]] = {}
    for row_id, row in ranked:
        key = row.get("merge_key") or fold(row["key"])
        if key not in merged:
            cells = dict(row["cells"])
            if row.get("status") != "pass":
                key_cell = dict(cells.get(plan.key_column, {}))
                key_cell["value"] = f"{key_cell.get('value', row['key'])}{UNVERIFIED_MARK}"
                cells[plan.key_column] = key_cell
            merged[key] = {"row_id": row_id, "row": row, "cells": cells}
            continue
        cells = merged[key]["cells"]
        for column, cell in row["cells"].items():
            if cell.get("value") and not cells.get(column, {}).get("value"):
                cells[column] = cell
    return list(merged.values())


def render_table_answer(
    plan: TablePlan,
    rows: dict[str, dict[str, Any]],
    order: list[str],
    enumeration: dict[str, Any],
    unverified: str = "drop",
) -> tuple[str, list[dict[str, Any]], list[dict[str, str]]]:
    """(answer text, citations, table as a list of {column: value})."""
    columns = plan.column_names
    entries = table_rows(plan, rows, order, unverified)
    table = [
        {c: str(entry["cells"].get(c, {}).get("value", "")) for c in columns} for entry in entries
    ]
    numbers: dict[str, int] = {}
    citations: list[dict[str, Any]] = []
    source_lines = []
    for entry in entries:
        row = entry["row"]
        ids = [row["source_id"]]
        ids += [
            c["source_id"]
            for c in entry["cells"].values()
            if c.get("value") and c.get("source_id") and c["source_id"] not in ids
        ]
        refs = []
        for source_id in ids:
            if source_id not in numbers:
                numbers[source_id] = len(numbers) + 1
                title, url = _source_meta(source_id, entry["cells"], row)
                citations.append(
                    {"n": numbers[source_id], "source_id": source_id, "url": url, "title": title}
                )
            refs.append(numbers[source_id])
        urls = ", ".join(
            f"[{n}] {citations[n - 1]['url'] or citations[n - 1]['title']}" for n in refs
        )
        source_lines.append(f"- {cell_text(row['key'])}: {urls}")
    checked = len(enumeration.get("documents", []))
    reason = enumeration.get("reason", "")
    notes = condition_notes(plan, enumeration, rows, unverified)
    if not table:
        answer = (
            f"No {plan.entity} in the searched corpora meets the conditions "
            f"({checked} documents checked; {reason}).{notes}\n\n```markdown\n"
            f"{markdown_table(columns, [])}\n```"
        )
        return answer, citations, table
    noun = plan.entity if len(table) == 1 else f"{plan.entity} rows"
    answer = (
        f"{len(table)} {noun} found ({checked} documents checked; {reason}).{notes}\n\n"
        f"```markdown\n{markdown_table(columns, table)}\n```\n\nSources:\n"
        + "\n".join(source_lines)
    )
    return answer, citations, table


def condition_notes(
    plan: TablePlan,
    enumeration: dict[str, Any],
    rows: dict[str, dict[str, Any]],
    unverified: str = "drop",
) -> str:
    """Plain sentences for every condition that was not applied as asked: read loosely,
    dropped because nothing could settle it, or left unverified for some rows ("" if none)."""
    condition_groups = groups(plan.conditions)
    sentences = []
    if plan.untested:
        sentences.append("Not tested on each row: " + "; ".join(plan.untested) + ".")
    if plan.criterion:
        sentences.append(
            f"Rows were kept when their own entry states {plan.criterion!r}: words of the "
            "question that some entries of the listing state and others do not."
        )
    relaxed = [c for i in _relaxed_groups(enumeration, rows) for c in condition_groups[i]]
    tests = [c for c in relaxed if c.test == "equals"]
    if tests:
        sentences.append(
            "No source states "
            + " or ".join(f"{c.field or 'the text'} exactly {c.value!r}" for c in tests)
            + ", so rows that contain it were accepted."
        )
    phrases = [c for c in relaxed if c.test == "contains" and len(words(c.value)) > 1]
    if phrases:
        sentences.append(
            "No row states "
            + " or ".join(repr(c.value) for c in phrases)
            + " word for word, so rows whose own text states most of its words were accepted."
        )
    read_as = enumeration.get("read_as") or []
    if read_as:
        sentences.append("Read against the table's columns: " + "; ".join(read_as) + ".")
    for index in enumeration.get("dropped", []):
        if index < len(condition_groups):
            text = group_text(condition_groups[index])
            sentences.append(
                f"The condition {text} could not be checked against the sources, so it was not "
                "applied."
            )
    open_rows = sum(1 for r in rows.values() if r.get("status") == "unknown")
    if open_rows:
        sentences.append(
            f"{open_rows} further candidate row{'s' if open_rows != 1 else ''} could not be "
            "verified against every condition and "
            + ("is" if open_rows == 1 else "are")
            + (" marked (unverified)." if unverified == "mark" else " left out.")
        )
    return (" " + " ".join(sentences)) if sentences else ""


def _relaxed_groups(enumeration: dict[str, Any], rows: dict[str, dict[str, Any]]) -> list[int]:
    """The condition groups some member row passed only as read loosely: the answer names
    those, not every condition the enumeration could have loosened."""
    if not enumeration.get("relaxed"):
        return []
    candidates = enumeration.get("candidates", {})
    found: set[int] = set()
    for row_id, row in rows.items():
        if row.get("status") != "pass" or row_id not in candidates:
            continue
        verdicts = candidates[row_id].get("verdicts", [])
        found.update(i for i, v in enumerate(verdicts) if v == GroupVerdict.RELAXED)
    return sorted(found)


def _source_meta(
    source_id: str, cells: dict[str, dict[str, Any]], row: dict[str, Any]
) -> tuple[str, str]:
    if source_id == row["source_id"]:
        return row.get("title", ""), row.get("url", "")
    for cell in cells.values():
        if cell.get("source_id") == source_id:
            return cell.get("title", "") or source_id, cell.get("url", "")
    return source_id, ""
