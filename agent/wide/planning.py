"""The table plan node: the planner model's `TablePlanReply` and, in a call of its own, where
the question says the rows are listed (`ListingPlaceReply`), reconciled with the question
(`table_plan.finalise_plan`), without "contains" tests of texts most documents state."""

from __future__ import annotations

import asyncio
import math
from typing import Any, TypeVar

from langgraph.runtime import Runtime
from pydantic import BaseModel

from agent.llm.base import ModelError, Usage
from agent.prompts import load_prompt
from agent.state import ResearchState, RunContext
from agent.steps import event, failed_usage, structured, usage_delta
from agent.text import clip
from agent.wide.enumeration import new_enumeration
from agent.wide.fields import fold, match_score
from agent.wide.fields import words as words_of
from agent.wide.schemas import Condition, ListingPlaceReply, SelectionReply, TablePlanReply
from agent.wide.table_plan import (
    TablePlan,
    clean_conditions,
    describe,
    finalise_plan,
    place_words,
    scope_terms,
)
from tools.base import ToolError

Reply = TypeVar("Reply", bound=BaseModel)
PLAN_TOKENS = 600
PLACE_TOKENS = 160
COMMON_SHARE = 0.5
"""A text stated by more than this share of the searched documents cannot tell rows apart."""
MIN_COMMON_DOCUMENTS = 10
"""Among fewer documents than this, how many state a text says nothing about it."""


def _common(found: int, total: int) -> bool:
    return total >= MIN_COMMON_DOCUMENTS and found > COMMON_SHARE * total


async def table_plan_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    question = state["question"]
    events: list[dict[str, Any]] = []
    reply: TablePlanReply | None = None
    usage = Usage()
    try:
        reply, usage = await _ask(ctx, "table_planner", question, TablePlanReply, PLAN_TOKENS)
    except (ModelError, TimeoutError) as error:
        usage = failed_usage(error)
        events.append(event("error", state, message=f"table planner failed: {error}"))
    listed_in = ""
    # Where the rows are listed is asked apart from the plan: a small model asked for both in
    # one reply moves properties the rows must have (a region, a category) into the place.
    if reply is not None:  # without a plan, the question alone says nothing of a place
        try:
            place, place_usage = await _ask(
                ctx, "table_place", question, ListingPlaceReply, PLACE_TOKENS
            )
            listed_in = place.listed_in
        except (ModelError, TimeoutError) as error:
            place_usage = failed_usage(error)
            message = f"reading where the rows are listed failed: {error}"
            events.append(event("error", state, message=message))
        usage.add(place_usage)
    plan = finalise_plan(question, reply, listed_in)
    if reply is not None and not plan.conditions:
        selection, spent, failure = await _selection(ctx, question, plan)
        usage.add(spent)
        if failure:
            events.append(event("error", state, message=failure))
        if selection is not None:
            plan.conditions = [selection]
            plan.notes.append(f"asked which items count: {describe(selection)}")
    plan = await _without_common_texts(ctx, plan)
    plan = await _scope_words(ctx, plan)
    events.insert(0, event("table_plan", state, **plan.to_state()))
    plan_state = {
        **plan.to_state(),
        "max_rows": ctx.wide.max_rows,
        "max_unsettled": ctx.wide.max_unsettled,
    }
    return {
        "plan": {"task_kind": "wide", "sub_goals": [], "columns": plan.column_names},
        "table_plan": plan_state,
        "enumeration": new_enumeration(plan),
        "coverage_round": 0,
        "events": events,
        "usage": usage_delta(usage),
    }


async def _selection(
    ctx: RunContext, question: str, plan: TablePlan
) -> tuple[Condition | None, Usage, str]:
    """The plan kept no test of the items (only, perhaps, where they are listed): which items
    the question asks for, in a call of its own. A test the question does not state, or one
    that restates the place, is none."""
    try:
        reply, usage = await _ask(ctx, "table_selection", question, SelectionReply, PLACE_TOKENS)
    except (ModelError, TimeoutError) as error:
        return None, failed_usage(error), f"asking which items count failed: {error}"
    proposed = Condition(field=reply.field, test=reply.test, value=reply.value)
    if proposed.test == "contains" and match_score(proposed.field, plan.key_column) >= 1.0:
        # the item, not its name: "Plugin contains heated in winter" reads the item's text,
        # which holds its name (a name holding the value still passes)
        proposed = proposed.model_copy(update={"field": ""})
    kept = clean_conditions([proposed], question)
    if not kept or set(words_of(kept[0].value)) <= set(words_of(plan.scope)):
        return None, usage, ""  # nothing asked, or the place restated ("contains Quill 2")
    return kept[0], usage, ""


async def _ask(
    ctx: RunContext, prompt: str, question: str, schema: type[Reply], max_tokens: int
) -> tuple[Reply, Usage]:
    """One schema-constrained planner call on the question. Raises ModelError/TimeoutError."""
    rendered = load_prompt(prompt).render(question=clip(question, 3000))
    reply, usage = await structured(ctx, "planner", rendered, schema, max_tokens)
    return reply, usage


def corpus_search(ctx: RunContext) -> Any | None:
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


async def _without_common_texts(ctx: RunContext, plan: TablePlan) -> TablePlan:
    """The plan without "contains" tests of texts most documents state (a product name on
    every page of its manual): they select nothing, and their exact searches would read the
    corpus. Such a test is recorded in the plan's notes."""
    tool = corpus_search(ctx)
    if tool is None:
        return plan
    share = tool.phrase_share
    kept, notes, dropped = [], [], set()
    for condition in plan.conditions:
        if condition.test in ("contains", "equals") and words_of(condition.value):
            found, total = await asyncio.to_thread(share, condition.value)
            plan.text_counts[fold(condition.value)] = found
            common = _common(found, total)
            if common and condition.test == "equals":  # may still tell a field's values apart
                plan.common_texts = [*plan.common_texts, condition.value]
            elif common:
                notes.append(
                    f"dropped {condition.field or 'text'} contains {condition.value!r}: stated "
                    f"by {found:,} of {total:,} documents, so it tells no rows apart"
                )
                plan.untested = [*plan.untested, f"{describe(condition)} (stated by {found:,} "
                                 f"of {total:,} documents: it tells no rows apart)"]  # fmt: skip
                dropped.add(fold(condition.value))
                continue
        kept.append(condition)
    if not notes:
        return plan
    plan.conditions, plan.notes = kept, [*plan.notes, *notes]
    plan.queries = [q for q in plan.queries if fold(q) not in dropped]
    return plan


async def _scope_words(ctx: RunContext, plan: TablePlan) -> TablePlan:
    """The plan with the words of its scope that most documents state left out of
    `scope_words` (a product's name on every page of its manual names no place in it), and
    the others weighted by how rare they are (`scope_weights`: inverse document frequency)."""
    tool = corpus_search(ctx)
    if tool is None or not plan.scope_words:
        return plan
    common, shares = set(), {}
    for word in scope_terms(plan.scope):
        found, total = await asyncio.to_thread(tool.phrase_share, word)
        if _common(found, total):
            common.add(word)
        if total:
            shares[word] = (found, total)
    plan.scope_words = place_words(plan.scope, common)
    plan.scope_weights = [
        math.log((shares[w][1] + 1) / (shares[w][0] + 1)) + 0.1 if w in shares else 1.0
        for w in plan.scope_words
    ]
    return plan
