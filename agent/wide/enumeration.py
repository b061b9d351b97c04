"""Enumeration: search pages until no new rows appear, reading every new document once for the
rows it offers (its matching listings' rows, or itself as one row) and checking each row's
membership against the conditions from its own evidence.

One search page per step. A query is spent when `patience` pages in a row add no row, when its
results run out, or at its page limit. A condition group that rejects every candidate the other
groups accept is dropped, and "equals" tests nothing meets exactly are read as "contains"; both
are recorded so the answer says so. Stops when every query is spent, or on the candidate/time
budget: the event says why. Then one `fill` branch per row (LangGraph `Send`)."""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from agent.llm.base import Usage
from agent.state import ResearchState, RunContext, add_usage
from agent.steps import event, usage_delta
from agent.wide.column_map import map_by_meaning
from agent.wide.criterion import apply_criterion
from agent.wide.fields import fold, parse_fields
from agent.wide.fields import words as words_of
from agent.wide.membership import groups, version_series
from agent.wide.reading import call_tool, read_full, structure_of
from agent.wide.rows import (
    STRONG_LISTING_SCORE,
    CandidateRow,
    RowKind,
    candidate_rows,
    example_pattern,
    identifier_scheme,
    key_example,
    like_example,
    merge_key,
)
from agent.wide.schemas import Condition
from agent.wide.table_conditions import reread_failing_groups
from agent.wide.table_plan import Column, TablePlan, group_text, match_column, names_a_place
from agent.wide.verdicts import GroupVerdict, RowStatus, row_status, row_verdicts
from tools.base import ToolError

EVIDENCE_CHARS = 6000
"""Characters of a listing row's own text kept with it for its fill."""
EVIDENCE_BUDGET = 1_000_000
"""Characters of row evidence the enumeration state may hold in all."""
MIN_DROP_EVIDENCE = 3
"""Candidates that fail only one condition group before that group may be dropped."""


def _text_condition(condition: Any) -> bool:
    """A test of text an exact search can find: at least one word of letters (a bare number
    like "55" is in thousands of pages: searching it exactly reads the corpus)."""
    return condition.test in ("contains", "equals") and any(
        any(ch.isalpha() for ch in word) for word in words_of(condition.value)
    )


def searched_text(condition: Condition) -> str:
    """The text an exact search for a condition's value looks for: a wildcard version's
    series ("3.32.x" -> "3.32"), else the value."""
    return version_series(condition.value) or condition.value


def enumeration_queries(plan: TablePlan) -> list[dict[str, Any]]:
    """Where the question names the place its rows are listed (a section, a table, a page),
    a search for that place first: once a listing there is read, the other searches are not
    needed. Then exact-phrase searches for the text the conditions require (each row's
    document must state one value of every text group, so these searches can list every
    row) and for the name of the scheme the rows are named in ("CVE" for rows named like
    "CVE-2019-12345"), then the planner's keyword queries (for what exact text cannot find)."""
    queries: list[dict[str, Any]] = []
    counted: list[float] = []
    seen = {fold(text) for text in plan.common_texts}  # no exact search reads most pages
    for index, group in enumerate(groups(plan.conditions)):
        for condition in group:
            text = searched_text(condition)
            if _text_condition(condition) and fold(text) not in seen:
                seen.add(fold(text))
                counted.append(plan.text_counts.get(fold(condition.value), math.inf))
                queries.append(_query(text, exact=True, group=index))
    # the rarest text first: its search lists every candidate in the fewest pages (counted
    # by the condition's value: "3.32.x" is searched as "3.32")
    order = sorted(range(len(queries)), key=lambda i: counted[i])
    queries = [queries[i] for i in order]
    scheme = identifier_scheme(key_example(plan))
    if scheme and fold(scheme) not in seen:  # rows named "CVE-...": each states "CVE"
        queries.append(_query(scheme, exact=True, group=None))
    place = plan.scope.strip() if names_a_place(plan.scope) else ""
    if place:
        queries.insert(0, _query(place, exact=False, group=None))
    for query in plan.queries:
        if fold(query) != fold(place):
            queries.append(_query(query, exact=False, group=None))
    return queries


def new_enumeration(plan: TablePlan) -> dict[str, Any]:
    return {
        "queries": enumeration_queries(plan),
        # row id -> {"row": CandidateRow state, "verdicts": [GroupVerdict per group]}, in the
        # order the rows were found
        "candidates": {},
        "documents": [],  # source ids read
        "dropped": [],  # condition groups dropped as contradicting every candidate
        "relaxed": False,  # tests read loosely ("equals" as "contains", phrases by words)
        "read_as": [],  # conditions read against a sure table's columns (table_conditions)
        "done": False,
        "reason": "",
    }


def _query(text: str, *, exact: bool, group: int | None) -> dict[str, Any]:
    return {"query": text, "exact": exact, "group": group, "page": 0, "dry": 0, "done": "",
            "found": 0}  # fmt: skip


def statuses(enumeration: dict[str, Any]) -> dict[str, RowStatus]:
    dropped, relaxed = enumeration["dropped"], bool(enumeration.get("relaxed"))
    return {
        row_id: row_status(
            entry["verdicts"], dropped, relaxed, pointer=bool(entry["row"].get("pointer"))
        )
        for row_id, entry in enumeration["candidates"].items()
    }


def _counts(enumeration: dict[str, Any]) -> tuple[int, int]:
    found = list(statuses(enumeration).values())
    return found.count(RowStatus.PASS), found.count(RowStatus.UNKNOWN)


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
        if all(_text_condition(c) and fold(searched_text(c)) in done_exact for c in group):
            complete.append(index)
    return complete


def _effective(enumeration: dict[str, Any]) -> list[list[GroupVerdict]]:
    relaxed = GroupVerdict.PASS if enumeration.get("relaxed") else GroupVerdict.FAIL
    return [
        [relaxed if v == GroupVerdict.RELAXED else GroupVerdict(v) for v in entry["verdicts"]]
        for entry in enumeration["candidates"].values()
    ]


def _groups_to_drop(enumeration: dict[str, Any]) -> list[int]:
    """After the whole search, with no row of a sure listing and no page meeting every group:
    the condition group that alone rejects the most candidates no other group rejects (at
    least MIN_DROP_EVIDENCE of them). When only rows of weaker listings passed (a dated news
    entry states any word somewhere), only the rows of sure listings are that evidence: a
    group rejecting every row of the sure listing is the one at odds with the question."""
    status = statuses(enumeration)
    candidates = enumeration["candidates"]
    passed = [r for r, s in status.items() if s is RowStatus.PASS]
    sure = {r for r, e in candidates.items() if e["row"].get("score", 0.0) >= STRONG_LISTING_SCORE}
    if any(r in sure or candidates[r]["row"]["kind"] == RowKind.PAGE for r in passed):
        return []  # a row of a sure listing, or a page about one entity, meets every group
    dropped = enumeration["dropped"]
    only_failing: dict[int, int] = {}
    chosen = list(candidates) if not passed else [r for r in candidates if r in sure]
    effective = dict(zip(candidates, _effective(enumeration), strict=True))
    for verdicts in (effective[r] for r in chosen):
        if len(verdicts) - len(dropped) < 2:
            return []  # one condition left: nothing else vouches for the candidates
        failing = [i for i, v in enumerate(verdicts) if v is GroupVerdict.FAIL and i not in dropped]
        if len(failing) == 1:  # the others accept it or cannot tell
            only_failing[failing[0]] = only_failing.get(failing[0], 0) + 1
    best = max(only_failing.items(), key=lambda t: t[1], default=None)
    return [best[0]] if best and best[1] >= MIN_DROP_EVIDENCE else []


def _unreadable_groups(
    enumeration: dict[str, Any], condition_groups: list[list[Any]], columns: list[Column]
) -> list[int]:
    """Groups that none of the rows they would decide can settle ("Distribution equals
    stable" where no page states a distribution) and no table column can settle either: a
    test of nothing."""
    dropped = enumeration["dropped"]
    verdicts = _effective(enumeration)
    unreadable = []
    for i, group in enumerate(condition_groups):
        if i in dropped or any(match_column(c, columns) for c in group):
            continue
        # the candidates no other group rejects: the ones this group would decide
        others_pass = [
            v
            for v in verdicts
            if all(x is not GroupVerdict.FAIL for j, x in enumerate(v) if j not in (i, *dropped))
        ]
        if len(others_pass) >= MIN_DROP_EVIDENCE and all(
            v[i] is GroupVerdict.UNKNOWN for v in others_pass
        ):
            unreadable.append(i)
    return unreadable


def _met_while_awaiting_cells(
    enumeration: dict[str, Any], condition_groups: list[list[Any]], columns: list[Column]
) -> set[int]:
    """The groups met by a page or sure-listing row that fails none and awaits only groups a
    table column settles ("Year at least 1960" of a page stating its year only in a
    sentence): its cells will settle it, so a group it meets is not at odds with the
    question, however many weaker rows (names in a cast list) it rejects."""
    dropped = enumeration["dropped"]
    met: set[int] = set()
    rows = [e["row"] for e in enumeration["candidates"].values()]
    for row, verdicts in zip(rows, _effective(enumeration), strict=True):
        if row["kind"] != RowKind.PAGE and row.get("score", 0.0) < STRONG_LISTING_SCORE:
            continue
        active = [(i, v) for i, v in enumerate(verdicts) if i not in dropped]
        if any(v is GroupVerdict.FAIL for _, v in active):
            continue
        open_groups = [i for i, v in active if v is GroupVerdict.UNKNOWN]
        if open_groups and all(
            any(match_column(c, columns) for c in condition_groups[i]) for i in open_groups
        ):
            met.update(i for i, v in active if v is GroupVerdict.PASS)
    return met


def _apply_drops(
    enumeration: dict[str, Any],
    condition_groups: list[list[Any]],
    state: ResearchState,
    columns: list[Column],
) -> list[dict[str, Any]]:
    """With no row after the whole search: first read the tests loosely (`verdicts`); then drop
    the groups no row or column can settle, and the group that alone rejects what the others
    accept (see `_groups_to_drop`); queries spent for lack of rows run again. Each step is
    recorded (`relaxed`, `dropped`) and the answer states it."""
    events = []
    if not enumeration.get("relaxed") and not _counts(enumeration)[0]:
        enumeration["relaxed"] = True  # no row meets the tests as written
        if _counts(enumeration)[0]:
            return [
                event(
                    "error",
                    state,
                    message="no candidate meets the conditions as written: read loosely "
                    "('equals' as 'contains', a phrase as most of its words)",
                )
            ]
        enumeration["relaxed"] = False
    for index in _unreadable_groups(enumeration, condition_groups, columns):
        enumeration["dropped"].append(index)
        events.append(
            event(
                "error",
                state,
                message=f"condition dropped: {group_text(condition_groups[index])}: no "
                "candidate's text states it",
            )
        )
    met = _met_while_awaiting_cells(enumeration, condition_groups, columns)
    for index in [i for i in _groups_to_drop(enumeration) if i not in met]:
        enumeration["dropped"].append(index)
        for query in enumeration["queries"]:  # the rows it hid may be on spent pages
            if query["done"].startswith(("saturated", "not needed")):
                query["done"], query["dry"] = "", 0
        events.append(
            event(
                "error",
                state,
                message=f"condition dropped: {group_text(condition_groups[index])} rejected "
                "every candidate the other conditions accept",
            )
        )
    return events


def _enumeration_stop(ctx: RunContext, enumeration: dict[str, Any]) -> str | None:
    if len(enumeration["documents"]) >= ctx.wide.max_candidates:
        return f"candidate budget reached ({ctx.wide.max_candidates} documents checked)"
    share = ctx.wide.enumeration_share * ctx.budget.max_seconds
    # a slow plan does not leave the enumeration without a first page of candidates
    if time.monotonic() - ctx.started >= share and enumeration["documents"]:
        return f"enumeration time budget reached ({share:.0f} s)"
    if ctx.seconds_left() <= 0:
        return f"time budget reached ({ctx.budget.max_seconds:.0f} s)"
    return None


async def _rows_of(
    ctx: RunContext,
    plan: TablePlan,
    question: str,
    document: dict[str, Any],
    condition_groups: list[list[Any]],
    evidence_room: int,
) -> tuple[dict[str, dict[str, Any]], list[str], Usage]:
    """The candidate rows one document offers, each with its group verdicts; sentences saying
    how a condition was read against a table's columns (`table_conditions`); and what the
    model calls for its tables cost."""
    text, title = document["text"], document.get("title", "")
    structure = await structure_of(ctx, document)
    rows = candidate_rows(plan, question, document["source_id"], text, title, structure)
    rows, usage = await map_by_meaning(ctx, plan, rows)
    page_fields = parse_fields(text) if any(r.is_page for r in rows) else []
    verdicts_of = {
        row.row_id: row_verdicts(condition_groups, row, text, title, page_fields) for row in rows
    }
    notes, spent = await reread_failing_groups(ctx, question, condition_groups, rows, verdicts_of)
    usage.add(spent)
    room = evidence_room
    found = {}
    for row in rows:
        verdicts = verdicts_of[row.row_id]
        entry = {
            "row": row.to_state(),
            "verdicts": [v.value for v in verdicts],
            "url": document.get("url", ""),
            "title": title,
        }
        if not row.is_page and GroupVerdict.FAIL not in verdicts and room > 0:
            # a listing row's own text travels with it: its fill reads nothing again (within
            # a budget: the graph state is saved at every step; past it, fill reads again)
            entry["evidence"] = row.own_text(text)[:EVIDENCE_CHARS]
            room -= len(entry["evidence"])
        found[row.row_id] = entry
    return found, notes, usage


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
            # the search is over: a group at odds with a sure listing may drop (its spent
            # queries then run again)
            drop_events.extend(_apply_drops(enumeration, condition_groups, state, plan.columns))
            current = next((q for q in enumeration["queries"] if not q["done"]), None)
    stop = _enumeration_stop(ctx, enumeration)
    if stop and current is not None:
        # stopped by a budget: the search is over all the same, and a group at odds with a
        # sure listing may still drop (its queries cannot run again)
        drop_events.extend(_apply_drops(enumeration, condition_groups, state, plan.columns))
    if current is None or stop:
        update: dict[str, Any] = {}
        kept = kept_rows(enumeration)
        told = apply_criterion(state["question"], plan, enumeration, kept)
        if told is not None:  # the plan tested nothing: the question's words that tell apart
            update["table_plan"] = {**state["table_plan"], **plan.to_state()}
        rows, unsettled = _counts(enumeration)
        reason = stop or _saturation_reason(enumeration)
        enumeration["done"], enumeration["reason"] = True, reason
        spent = {q["query"]: q["done"] or "not run" for q in enumeration["queries"]}
        return {
            **update,
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
                    checked=len(enumeration["documents"]),
                    queries=spent,
                    dropped=[group_text(condition_groups[i]) for i in enumeration["dropped"]],
                    criterion=f"{told.phrase!r} ({told.stated_by} of {told.entries} entries)"
                    if told
                    else "",
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
        hits = await call_tool(ctx, "search", arguments)
    except ToolError as exc:
        hits, error = [], str(exc)
    rows_before, unsettled_before = _counts(enumeration)
    placed_before = _placed_count(enumeration)
    usage = Usage()
    read = set(enumeration["documents"])
    new = list(dict.fromkeys(h["source_id"] for h in hits if h["source_id"] not in read))
    room = ctx.wide.max_candidates - len(enumeration["documents"])
    question = state["question"]
    evidence_room = EVIDENCE_BUDGET - sum(
        len(e.get("evidence") or "") for e in enumeration["candidates"].values()
    )
    for source_id in new[: max(0, room)]:
        try:
            document = await read_full(ctx, source_id)
        except ToolError:
            continue
        calls += 1
        enumeration["documents"].append(source_id)
        if document["source_id"] != source_id:
            enumeration["documents"].append(document["source_id"])
        found, notes, cost = await _rows_of(
            ctx, plan, question, document, condition_groups, evidence_room
        )
        usage.add(cost)
        read_as = enumeration.setdefault("read_as", [])
        read_as.extend(n for n in notes if n not in read_as)
        for row_id, entry in found.items():
            if row_id not in enumeration["candidates"]:
                enumeration["candidates"][row_id] = entry
                evidence_room -= len(entry.get("evidence") or "")
    rows, unsettled = _counts(enumeration)
    gained = (rows - rows_before) + (unsettled - unsettled_before)
    placed = _placed_count(enumeration)
    if placed:  # rows from where the question says they are listed: only more of those count
        gained = placed - placed_before
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
    if current["done"] and _listed_members(enumeration):
        for query in enumeration["queries"]:
            if not query["done"]:
                query["done"] = "not needed: a listing holds the rows"
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
        "usage": add_usage(
            usage_delta(usage),
            {"tool_calls": calls, "steps": 1, "tool_seconds": time.perf_counter() - started},
        ),
    }


def _placed_count(enumeration: dict[str, Any]) -> int:
    """Candidates from the named place (`CandidateRow.in_scope`) that meet the conditions or
    may."""
    status = statuses(enumeration)
    return sum(
        1
        for row_id, entry in enumeration["candidates"].items()
        if entry["row"].get("in_scope") and status[row_id] is not RowStatus.FAIL
    )


def _saturation_reason(enumeration: dict[str, Any]) -> str:
    exhausted = [q["query"] for q in enumeration["queries"] if q["exact"] and
                 q["done"] == "results exhausted"]  # fmt: skip
    if any(q["done"].startswith("not needed") for q in enumeration["queries"]):
        if not exhausted:
            return "complete: a listing sure to hold the rows was read"
        return (
            "complete: every document stating " + " / ".join(map(repr, exhausted)) + " was checked"
        )
    return "saturated: every query is spent (no new rows on its last pages)"


def route_enumeration(state: ResearchState) -> str | list[Send]:
    """Next page, or the fan-out to one `fill` branch per row, or straight to coverage."""
    enumeration = state.get("enumeration") or {}
    if not enumeration.get("done"):
        return "enumerate"
    return fill_sends(state) or "coverage"


def fill_sends(state: ResearchState) -> list[Send]:
    """One `fill` branch per member row, then per unsettled row (capped), up to max_rows."""
    enumeration = state["enumeration"]
    plan = state["table_plan"]
    dropped = enumeration["dropped"]
    key = plan["key_column"]
    columns = [c["name"] for c in plan["columns"] if c["name"] != key]
    kept = named_like_example(enumeration, TablePlan.from_state(plan), kept_rows(enumeration))
    status = {r: s for r, s in statuses(enumeration).items() if r in kept}
    members = [r for r, s in status.items() if s is RowStatus.PASS]
    unsettled = [r for r, s in status.items() if s is RowStatus.UNKNOWN]
    chosen = [*members, *unsettled[: plan.get("max_unsettled", 60)]][: plan.get("max_rows", 80)]
    sends = []
    for row_id in chosen:
        entry = enumeration["candidates"][row_id]
        task = {
            "mode": "primary",
            "row_id": row_id,
            "row": entry["row"],
            "url": entry.get("url", ""),
            "title": entry.get("title", ""),
            "evidence": entry.get("evidence"),
            "columns": columns,
            "status": status[row_id].value,
            "unknown_groups": [
                i
                for i, v in enumerate(entry["verdicts"])
                if v == GroupVerdict.UNKNOWN and i not in dropped
            ],
        }
        sends.append(send_fill(state, task))
    return sends


def _listed_members(
    enumeration: dict[str, Any], *, strong: bool = True, only: set[str] | None = None
) -> set[str]:
    """The merge keys of the listing rows that meet the conditions or may (only those of
    listings sure to hold the question's rows, when `strong`; among `only`, when given)."""
    status = statuses(enumeration)
    return {
        merge_key(entry["row"]["key"])
        for row_id, entry in enumeration["candidates"].items()
        if (only is None or row_id in only)
        and entry["row"]["kind"] != RowKind.PAGE
        and (not strong or entry["row"].get("score", 0.0) >= STRONG_LISTING_SCORE)
        and status[row_id] is not RowStatus.FAIL
    }


def _in_named_place(enumeration: dict[str, Any]) -> set[str]:
    """The candidates that may be rows given where the question says the rows are listed:
    when some candidate that may pass comes from that place (`CandidateRow.in_scope`), those
    and the candidates about the same entities (their own pages); else all."""
    candidates = enumeration["candidates"]
    status = statuses(enumeration)
    scoped = {
        merge_key(entry["row"]["key"])
        for row_id, entry in candidates.items()
        if entry["row"].get("in_scope") and status[row_id] is not RowStatus.FAIL
    }
    if not scoped:
        return set(candidates)
    return {
        row_id
        for row_id, entry in candidates.items()
        if entry["row"].get("in_scope") or merge_key(entry["row"]["key"]) in scoped
    }


def kept_rows(enumeration: dict[str, Any]) -> set[str]:
    """The candidates that may become rows. First, where the question names the place the
    rows are listed and candidates came from it, only those (and their own pages). Then the
    answer's rows are of one kind: when listings sure to hold the question's rows gave some,
    the rows are theirs, and any other candidate (a page, a row of a weaker listing elsewhere)
    is kept only when it is about one of those rows (merged with it); else, when weaker
    listings gave at least as many rows as pages, pages are kept only when they are about a
    listed row (a page title is no entry of a list that page does not belong to)."""
    candidates = enumeration["candidates"]
    placed = _in_named_place(enumeration)
    strong = _listed_members(enumeration, only=placed)
    if strong:
        return {
            row_id
            for row_id in placed
            if candidates[row_id]["row"].get("score", 0.0) >= STRONG_LISTING_SCORE
            or merge_key(candidates[row_id]["row"]["key"]) in strong
        }
    status = statuses(enumeration)
    pages = {
        merge_key(candidates[row_id]["row"]["key"])
        for row_id in placed
        if candidates[row_id]["row"]["kind"] == RowKind.PAGE
        and status[row_id] is not RowStatus.FAIL
    }
    weak = _listed_members(enumeration, strong=False, only=placed)
    if not weak or len(weak) < len(pages):
        return placed
    return {
        row_id
        for row_id in placed
        if candidates[row_id]["row"]["kind"] != RowKind.PAGE
        or merge_key(candidates[row_id]["row"]["key"]) in weak
    }


def named_like_example(enumeration: dict[str, Any], plan: TablePlan, kept: set[str]) -> set[str]:
    """The answer's rows are of one kind: when the key column's example is an identifier or
    a version ("e.g. CVE-2019-12345", "e.g. Release 15.3") and some kept rows are named so,
    the rows named otherwise (a changelog's sentences, a page's dates) are left out."""
    example = key_example(plan)
    if example_pattern(example) is None:
        return kept
    candidates = enumeration["candidates"]
    named = {r for r in kept if like_example([candidates[r]["row"]["key"]], example)}
    return named or kept


def send_fill(state: ResearchState, task: dict[str, Any]) -> Send:
    return Send(
        "fill",
        {
            "question": state["question"],
            "table_plan": state["table_plan"],
            "task": task,
            "usage": {"steps": (state.get("usage") or {}).get("steps", 0)},
        },
    )


def candidate(task: dict[str, Any]) -> CandidateRow:
    return CandidateRow.from_state(task["row"])
