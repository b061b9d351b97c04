"""The research loop as a LangGraph graph: plan -> goal -> act -> reflect -> ... -> answer.

Every search step carries an explicit goal; reflection judges the evidence against it and picks
the next move. Budgets end a run with the best answer so far. Nodes return plain data (so the
SQLite checkpoint can resume a run) plus the events they emit.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent.citations import SourceRef, enforce_citations
from agent.facts import (
    MIN_VALUE_SUPPORT,
    check_reflection,
    fact_about,
    fact_item,
    fact_observations,
    fact_supported,
    grounded_facts,
    stating_result,
)
from agent.facts import support as value_support
from agent.grounding import GroundedAnswer, ground_answer
from agent.llm.base import ModelError, StructuredOutputError, Usage
from agent.llm.repair import strip_think
from agent.prompts import LOCAL_COLLECTION, WEB_COLLECTION, load_prompt
from agent.question_shape import one_subject
from agent.relation_check import confirm_relations, contradicted_claims, facts_of_claims
from agent.salvage import salvaged_reflection
from agent.schemas import FactItem, Plan, Reflection, SubGoal
from agent.state import ResearchState, RunContext, add_usage
from agent.steps import budget_reason, record_call
from agent.steps import event as _event
from agent.steps import failed_usage as _failed_usage
from agent.steps import structured as _structured
from agent.steps import usage_delta as _usage_delta
from agent.text import (
    clip,
    focus,
    focused_sentences,
    keywords,
    quote_untrusted,
    split_sentences,
    until_repeating,
    with_marker,
    without_questions,
)
from agent.tool_choice import choose_tool
from agent.wide import (
    coverage_node,
    enumerate_node,
    fill_node,
    route_coverage,
    route_enumeration,
    table_answer_node,
    table_plan_node,
)
from agent.wide.render import render_table_answer
from agent.wide.table_plan import TablePlan, looks_wide
from memory.knowledge import AnswerRecord, KnowledgeCache
from tools.base import ToolError

WRITER_GRACE_SECONDS = 180.0  # the writer may overrun the wall budget by this much
REFLECTION_TOKENS = 400  # sentence numbers, a drafted answer, up to 2 facts and the decision
PLANNER_TOKENS = 400
log = logging.getLogger(__name__)

MIN_DRAFT_WORDS = 4
"""Words a drafted answer needs to be a sentence, not a bare name or number."""
_CLAIM_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d[\d,.]*")

RESULT_WEIGHTS = (3.0, 2.0, 1.5, 1.0)
"""Shares of the reflector's text budget by rank (then 1.0 each): the best-ranked results,
likeliest to hold the answer, show more of their sentences."""
WRITER_TOKENS = 300  # a lookup answer is one to five sentences
_STEP_MARKER = re.compile(r"\[(\d+)\]")
_NOTE_MARKER = re.compile(r"\[\[(\d+)\]\]")


# --- nodes -----------------------------------------------------------------------------------


KNOWLEDGE_TOOL = "knowledge"
"""The action name of a recall from the knowledge cache (not a tool call: nothing is searched)."""


def _tools_used(state: ResearchState) -> list[str]:
    names: list[str] = []
    for event in state.get("events") or []:
        name = event["data"].get("tool") if event["type"] == "tool_call" else None
        if name and name not in names:
            names.append(name)
    return names


async def _tool_scopes(ctx: RunContext, names: Sequence[str]) -> dict[str, str] | None:
    """What each tool's results currently depend on; None when a tool is gone."""
    scopes: dict[str, str] = {}
    for name in names:
        try:
            tool = ctx.tools.get(name)
        except ToolError:
            return None
        scopes[name] = await asyncio.to_thread(tool.cache_scope)
    return scopes


async def find_stored_answer(ctx: RunContext, question: str) -> AnswerRecord | None:
    """The stored answer to `question` that is still valid: same models and tools (the
    answer scope), not expired, and every tool it used still gives the same results."""
    if ctx.cache is None or not ctx.knowledge.reuse_answers:
        return None
    record = await asyncio.to_thread(ctx.cache.get_answer, question, ctx.answer_scope)
    if record is None or not record.answer:
        return None
    stored_scopes = record.payload.get("tool_scopes")
    if not isinstance(stored_scopes, dict):
        return None
    if await _tool_scopes(ctx, list(stored_scopes)) != stored_scopes:
        return None  # a source changed since: research again
    return record


async def reuse_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """The same question answered before, from the same sources with the same models: return
    the stored answer (no search, no model call). Otherwise plan."""
    ctx = runtime.context
    record = await find_stored_answer(ctx, state["question"])
    if record is None:
        return {"next": "plan"}
    citations = [c for c in record.payload.get("citations", []) if isinstance(c, dict)]
    events = [
        _event(
            "cache_hit",
            state,
            kind="answer",
            from_run=record.run_id,
            age_seconds=round(max(0.0, time.time() - record.created_at), 1),
            sources=citations,
        ),
        _event(
            "answer",
            state,
            answer=record.answer,
            citations=citations,
            rejected_citations=[],
            reused_from=record.run_id,
        ),
    ]
    return {
        "next": "end",
        "answer": record.answer,
        "citations": citations,
        "rejected_citations": [],
        "reused_from": record.run_id,
        "events": events,
        "usage": {"cache_hits": 1},
    }


async def plan_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    question = state["question"]
    if looks_wide(question):  # it names its table's columns: plan the table straight away
        return {"next": "table_plan"}
    events: list[dict[str, Any]] = []
    usage = Usage()
    planned_by = "planner"
    if ctx.search.plan == "auto" and one_subject(question):
        # one thing asked about: the question is the goal and its own words the search
        planned_by = "question"
        plan = Plan(
            task_kind="lookup",
            sub_goals=[
                SubGoal(
                    goal=" ".join(question.split()),
                    evidence_needed="a passage that states what the question asks",
                    query=keywords(question),
                )
            ],
        )
    else:
        plan, usage, error_event = await _planned(ctx, state, question)
        if error_event is not None:
            events.append(error_event)
    if plan.task_kind == "lookup" and len(plan.columns) >= 2:
        # small models label list questions "lookup" but still name the table's columns
        plan = plan.model_copy(update={"task_kind": "wide"})
    goals: list[dict[str, Any]] = []
    seen_queries: set[str] = set()
    for sub in plan.sub_goals:
        if sub.query.lower() in seen_queries or len(goals) >= ctx.budget.max_goals:
            continue
        seen_queries.add(sub.query.lower())
        goals.append(
            {
                "id": len(goals) + 1,
                "goal": sub.goal,
                "evidence_needed": sub.evidence_needed,
                "query": sub.query,
                "status": "open",
                "attempts": 0,
                "queries": [],
                "read": [],
            }
        )
    plan_data = {**plan.model_dump(), "planned_by": planned_by}
    plan_data["sub_goals"] = [
        {"goal": g["goal"], "evidence_needed": g["evidence_needed"], "query": g["query"]}
        for g in goals
    ]
    events.insert(0, _event("plan", state, **plan_data))
    route = "table_plan" if plan.task_kind == "wide" else "goal"
    return {
        "plan": plan_data,
        "goals": goals,
        "next": route,
        "events": events,
        "usage": _usage_delta(usage),
    }


async def _planned(
    ctx: RunContext, state: ResearchState, question: str
) -> tuple[Plan, Usage, dict[str, Any] | None]:
    """The planner's plan, or a one-goal plan (and the error event) when the planner fails."""
    try:
        plan, usage = await _structured(
            ctx,
            "planner",
            load_prompt("planner").render(
                question=question, collection=WEB_COLLECTION if ctx.web else LOCAL_COLLECTION
            ),
            Plan,
            PLANNER_TOKENS,
        )
        return plan, usage, None
    except (ModelError, TimeoutError) as error:
        plan = Plan(
            task_kind="lookup",
            sub_goals=[
                SubGoal(
                    goal=f"Find what answers: {question}",
                    evidence_needed="a passage that answers the question",
                    query=keywords(question),
                )
            ],
        )
        message = f"planner failed, using a one-goal plan: {error}"
        return plan, _failed_usage(error), _event("error", state, message=message)


async def goal_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    open_goals = [g for g in state.get("goals", []) if g["status"] == "open"]
    if not open_goals:
        return {"next": "answer", "action": None}
    reason = budget_reason(state, ctx)
    if reason:
        return {
            "next": "answer",
            "action": None,
            "stop_reason": reason,
            "events": [_event("budget", state, reason=reason)],
        }
    goal = open_goals[0]
    action = {"tool": "search", "arguments": search_arguments(ctx, goal["query"])}
    event = _event(
        "goal",
        state,
        goal_id=goal["id"],
        goal=goal["goal"],
        evidence_needed=goal["evidence_needed"],
        query=goal["query"],
    )
    recall = ctx.recall is not None and ctx.knowledge.recall_facts and not goal.get("recalled")
    return {
        "current_goal": goal["id"],
        "action": action,
        "next": "recall" if recall else _act_route(ctx, action),
        "events": [event],
    }


def search_arguments(ctx: RunContext, query: str) -> dict[str, Any]:
    """The arguments of a planned search: the query, the configured k, and with web search on
    the recency the question asks for."""
    arguments: dict[str, Any] = {"query": query, "k": ctx.search.k}
    if ctx.web and ctx.recency:
        arguments["recency"] = ctx.recency
    return arguments


def _act_route(ctx: RunContext, action: dict[str, Any] | None) -> str:
    """A planned corpus search first goes through tool choice when imported tools exist."""
    if ctx.tool_selector is not None and action is not None and action.get("tool") == "search":
        return "choose"
    return "act"


async def choose_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Retrieve the tools that fit the current goal and let the model pick the call."""
    ctx = runtime.context
    selector = ctx.tool_selector
    action = dict(state.get("action") or {})
    if selector is None:
        return {"next": "act"}
    goal = next(g for g in state.get("goals", []) if g["id"] == state.get("current_goal"))
    arguments = dict(action.get("arguments", {}))
    choice = await choose_tool(
        ctx,
        selector,
        question=state["question"],
        goal=goal["goal"],
        query=str(arguments.get("query") or goal["query"]),
        search_arguments=arguments,
    )
    events = [
        _event(
            "tool_choice",
            state,
            goal_id=goal["id"],
            tool=choice.tool,
            candidates=[{"tool": h.card.name, "score": round(h.score, 4)} for h in choice.hits],
            demos=[d.tool for d in choice.demos],
        )
    ]
    if choice.error:
        events.append(_event("error", state, message=choice.error))
    return {
        "action": {"tool": choice.tool, "arguments": choice.arguments},
        "next": "act",
        "events": events,
        "usage": _usage_delta(choice.usage),
    }


async def recall_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Knowledge-aware retrieval: before a goal's first search, the facts earlier runs stored
    (with their sources) that bear on it; this run's own findings are in its notes already.
    Found: the reflector judges them like search results (a satisfied goal needs no search).
    None: the planned search goes ahead."""
    ctx = runtime.context
    goals = [dict(g) for g in state.get("goals", [])]
    goal = next(g for g in goals if g["id"] == state.get("current_goal"))
    goal["recalled"] = True
    facts = []
    if ctx.recall is not None:
        found = await asyncio.to_thread(ctx.recall, goal["goal"], goal["query"], ctx.run_id)
        # a stored fact may settle a goal only while its own passage states it, and only a
        # goal that names what the fact is about
        about = f"{goal['goal']} {goal['query']}"
        facts = [f for f in found if fact_supported(f) and fact_about(f, about)]
    if not facts:
        return {"goals": goals, "next": _act_route(ctx, state.get("action"))}
    observations = fact_observations(facts)
    return {
        "goals": goals,
        "observations": observations,
        "observation_error": None,
        "sources": _sources_of(observations),
        "action": {
            "tool": KNOWLEDGE_TOOL,
            "arguments": {"goal": goal["goal"], "query": goal["query"]},
        },
        "next": "reflect",
        "events": [
            _event(
                "cache_hit",
                state,
                kind="facts",
                goal_id=goal["id"],
                facts=[fact_item(f) for f in facts],
            )
        ],
        "usage": {"cache_hits": 1},
    }


def _sources_of(observations: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    sources: dict[str, dict[str, Any]] = {}
    for obs in observations:
        record = sources.setdefault(
            obs["source_id"], {"url": obs["url"], "title": obs["title"], "passages": []}
        )
        record["passages"].append({"text": obs["text"], "start": obs["start"], "end": obs["end"]})
    return sources


async def act_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    action = state.get("action") or {}
    name = action.get("tool", "")
    arguments = dict(action.get("arguments", {}))
    events = [_event("tool_call", state, tool=name, arguments=arguments)]
    started = time.perf_counter()
    observations: list[dict[str, Any]] = []
    error: str | None = None
    cached = False
    try:
        tool = ctx.tools.get(name)
        key_args = {**arguments, "_scope": await asyncio.to_thread(tool.cache_scope)}
        hit = None
        if ctx.cache is not None and ctx.knowledge.reuse_tool_results:
            hit = await asyncio.to_thread(ctx.cache.get_tool_result, name, key_args)
        if hit is not None:
            observations, cached = hit, True
        else:
            result = await asyncio.wait_for(tool(arguments), ctx.search.tool_timeout)
            observations = [o.model_dump() for o in result]
            if ctx.cache is not None:
                await asyncio.to_thread(
                    ctx.cache.put_tool_result, name, key_args, observations, _ttl(ctx, tool)
                )
    except ToolError as exc:
        error = str(exc)
    except TimeoutError:
        error = f"{name} timed out after {ctx.search.tool_timeout:.0f} s"
    elapsed = time.perf_counter() - started
    if ctx.cache is not None and observations:
        await asyncio.to_thread(_remember_read, ctx.cache, observations)
    sources = _sources_of(observations)
    events.append(
        _event(
            "observation",
            state,
            tool=name,
            error=error,
            cached=cached,
            items=[
                {
                    "source_id": o["source_id"],
                    "title": o["title"],
                    "url": o["url"],
                    "score": o["score"],
                    "snippet": clip(o["text"], 200),
                }
                for o in observations
            ],
        )
    )
    goals = [dict(g) for g in state.get("goals", [])]
    for goal in goals:
        if goal["id"] == state.get("current_goal"):
            if name == "search":
                goal["attempts"] += 1
                goal["queries"] = [*goal["queries"], arguments.get("query", "")]
            elif name == "read":
                goal["read"] = [*goal["read"], arguments.get("doc_id", "")]
    return {
        "observations": observations,
        "observation_error": error,
        "sources": sources,
        "goals": goals,
        "events": events,
        "usage": {
            "tool_calls": 0 if cached else 1,
            "cache_hits": 1 if cached else 0,
            "steps": 1,
            "tool_seconds": elapsed,
        },
    }


def _ttl(ctx: RunContext, tool: Any) -> float | None:
    """A tool's result lifetime: its own (0 = depends on now), capped by the configured TTL."""
    own: float | None = tool.cache_ttl
    limit = ctx.knowledge.ttl
    if own is None:
        return limit
    return own if limit is None else min(own, limit)


def _remember_read(cache: KnowledgeCache, observations: list[dict[str, Any]]) -> None:
    """What the run read goes to the knowledge cache, with its source."""
    for obs in observations:
        corpus = obs["source_id"].split(":", 1)[0] if ":" in obs["source_id"] else ""
        cache.add_document(obs["source_id"], obs.get("url", ""), obs.get("title", ""), corpus)
        cache.add_passages(obs["source_id"], [(obs.get("start"), obs.get("end"), obs["text"])])


def _format_results(
    observations: list[dict[str, Any]], limit: int, terms: str = ""
) -> tuple[str, dict[str, str]]:
    """The results for the reflector, each within its share of `limit` (larger for better-ranked
    results; the sentences that bear most on `terms`, the goal and its query, when a passage is
    longer), every sentence numbered
    [n.k] (result n, sentence k) so the reflector can name its evidence instead of copying it.
    Returns the text and the numbered sentences."""
    if not observations:
        return "(no results)", {}
    weights = [RESULT_WEIGHTS[min(i, len(RESULT_WEIGHTS) - 1)] for i in range(len(observations))]
    blocks = []
    numbered: dict[str, str] = {}
    for n, obs in enumerate(observations, 1):
        share = max(200, int(limit * weights[n - 1] / sum(weights)))
        pieces: list[str] = []
        count = 0
        for sentence in focused_sentences(obs["text"], terms, share):
            if sentence is None:
                pieces.append("…")
                continue
            for part in split_sentences(quote_untrusted(sentence)):
                count += 1
                numbered[f"{n}.{count}"] = part
                pieces.append(f"[{n}.{count}] {part}")
        body = " ".join(pieces)
        title = quote_untrusted(obs.get("title") or obs["source_id"])
        context = obs.get("context") or ""
        where = (
            f"({quote_untrusted(clip('; '.join(context.splitlines()), 300))})\n" if context else ""
        )
        blocks.append(f'<result n="{n}" title="{title}">\n{where}{body}\n</result>')
    return "\n".join(blocks), numbered


_SENTENCE_REF = re.compile(r"\[?\b(\d+)\.(\d+)\b\]?")


def evidence_from_references(evidence: str, numbered: dict[str, str]) -> str:
    """Evidence given as sentence numbers ("1.2, 3.1") as those sentences, each followed by its
    result's marker ("... [1] ... [3]"); evidence written out is returned as it is."""
    if re.search(r"[^\W\d_]{2}", re.sub(r"\b(?:and|or)\b", " ", _SENTENCE_REF.sub(" ", evidence))):
        return evidence  # written out (numbers in it are numbers, not references)
    keys = [f"{a}.{b}" for a, b in _SENTENCE_REF.findall(evidence)]
    known = [k for k in dict.fromkeys(keys) if k in numbered]
    return " ".join(f"{numbered[k].rstrip()} [{k.split('.')[0]}]" for k in known)


def _format_notes(notes: list[dict[str, Any]], limit: int = 1200) -> str:
    if not notes:
        return "(none yet)"
    lines = [f"- {_NOTE_MARKER.sub('', n['text']).strip()}" for n in notes]
    return clip("\n".join(lines), limit) if sum(map(len, lines)) > limit else "\n".join(lines)


def _add_fact_draft(
    goal: dict[str, Any],
    drafted: str,
    facts: Sequence[FactItem],
    observations: list[dict[str, Any]],
) -> None:
    """Give `goal` the source's own sentence that states the reflection's first stated fact,
    as the answer for when its drafted one (`drafted`) fails the support check; it goes first
    when the draft is no sentence or does not state the fact's value."""
    stated = [(f, s) for f in facts if (s := stating_result(f, observations))]
    if not stated:
        return
    fact, (index, _, sentence) = stated[0]
    title = observations[index].get("title") or ""
    sentence = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", sentence)  # a list item's mark
    if title and value_support(fact.subject, sentence) < MIN_VALUE_SUPPORT:
        sentence = f"{title}: {sentence}"  # "it is ..." says what "it" is
    marked = with_marker(sentence, f"[{index + 1}]")
    goal["fact_draft"] = _note_from(marked, observations, goal["id"])
    fragment = len(_CLAIM_WORD.findall(drafted)) < MIN_DRAFT_WORDS  # "Shah Jahan [1]"
    if fragment or value_support(fact.value, drafted) < MIN_VALUE_SUPPORT:
        goal["draft"], goal["fact_draft"] = goal["fact_draft"], goal["draft"]


def _note_from(evidence: str, observations: list[dict[str, Any]], goal_id: int) -> dict[str, Any]:
    """Turn step-local [n] markers into references the writer can renumber."""
    source_ids: list[str] = []

    def mark(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if not 1 <= n <= len(observations):
            return ""
        sid = observations[n - 1]["source_id"]
        if sid not in source_ids:
            source_ids.append(sid)
        return f"[[{source_ids.index(sid)}]]"

    text = _STEP_MARKER.sub(mark, evidence)
    if not source_ids:  # small models often omit the numbers: attribute by word overlap
        best = _best_supporting(evidence, observations)
        if best is not None:
            source_ids.append(observations[best]["source_id"])
            body = text.rstrip()
            end = body[-1] if body[-1:] in ".!?" else ""
            text = f"{body[: len(body) - len(end)]} [[0]]{end}"
    return {"goal_id": goal_id, "text": text, "source_ids": source_ids}


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3 or w.isdigit()}


def _best_supporting(evidence: str, observations: list[dict[str, Any]]) -> int | None:
    """The observation sharing the most content words with `evidence` (at least half of
    them), or None when no observation clearly supports it."""
    words = _content_words(evidence)
    if not words:
        return None
    overlaps = [len(words & _content_words(o["text"])) for o in observations]
    best = max(range(len(overlaps)), key=overlaps.__getitem__, default=None)
    if best is None or overlaps[best] < max(2, len(words) / 2):
        return None
    return best


def _decide(
    reflection: Reflection,
    goal: dict[str, Any],
    observations: list[dict[str, Any]],
    ctx: RunContext,
) -> tuple[str, dict[str, Any] | None, str]:
    """(next node, action, new goal status) from a reflection. Guards against loops."""
    if goal.get("_recalled_now") and reflection.verdict != "satisfied":
        # stored facts did not settle the goal: search as planned (or as the reflection says)
        if reflection.next_action == "read" and 1 <= reflection.read <= len(observations):
            doc_id = observations[reflection.read - 1]["source_id"]
            focus = f"{goal['goal']}. {reflection.missing}".strip()
            return "act", {"tool": "read", "arguments": {"doc_id": doc_id, "goal": focus}}, "open"
        query = reflection.query.strip() or goal["query"]
        return "act", {"tool": "search", "arguments": search_arguments(ctx, query)}, "open"
    settled = "satisfied" if reflection.verdict == "satisfied" else None
    fallback_status = settled or ("partial" if reflection.evidence.strip() else "abandoned")
    if reflection.verdict == "satisfied" or reflection.next_action == "next_goal":
        return "goal", None, fallback_status
    if reflection.next_action == "answer":
        return "answer", None, fallback_status
    if reflection.next_action == "read" and 1 <= reflection.read <= len(observations):
        doc_id = observations[reflection.read - 1]["source_id"]
        if doc_id not in goal["read"]:
            focus = f"{goal['goal']}. {reflection.missing}".strip()
            return "act", {"tool": "read", "arguments": {"doc_id": doc_id, "goal": focus}}, "open"
    query = reflection.query.strip()
    used = {q.lower() for q in goal["queries"]}
    if query and query.lower() not in used and goal["attempts"] < ctx.budget.max_attempts_per_goal:
        return "act", {"tool": "search", "arguments": search_arguments(ctx, query)}, "open"
    return "goal", None, fallback_status


async def reflect_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    goals = [dict(g) for g in state.get("goals", [])]
    goal = next(g for g in goals if g["id"] == state.get("current_goal"))
    observations = state.get("observations") or []
    events: list[dict[str, Any]] = []
    usage = Usage()
    numbered: dict[str, str] = {}
    action = state.get("action") or {}
    recalled = action.get("tool") == KNOWLEDGE_TOOL
    if recalled:
        tool_text = "a knowledge-cache recall (facts earlier research read from these sources)"
    else:
        tool_text = f"{action.get('tool')}({clip(str(action.get('arguments', {})), 160)})"
    if not observations:
        reflection = Reflection(
            evidence="",
            facts=[],
            missing=state.get("observation_error") or "no results",
            verdict="off_track",
            next_action="search",
            query=keywords(goal["goal"], 5),
        )
    else:
        shown, numbered = _format_results(
            observations, ctx.search.evidence_chars, f"{goal['goal']} {goal['query']}"
        )
        messages = load_prompt("reflector").render(
            question=state["question"],
            goal=goal["goal"],
            evidence_needed=goal["evidence_needed"],
            queries="; ".join(goal["queries"]) or "(none)",
            notes=_format_notes(state.get("notes") or []),
            tool=tool_text,
            results=shown,
        )
        try:
            reflection, usage = await _structured(
                ctx, "reflector", messages, Reflection, REFLECTION_TOKENS
            )
        except (ModelError, TimeoutError) as error:
            usage = _failed_usage(error)
            salvaged = (
                salvaged_reflection(error.raw)
                if isinstance(error, StructuredOutputError) and error.cut_off
                else None
            )
            if salvaged is not None:
                # what the reply held before it was cut (its drafted answer is checked as any)
                log.info("goal %s: kept what the cut-off reflection held (%s)", goal["id"], error)
                reflection = salvaged
            else:
                reflection = Reflection(
                    evidence="", facts=[], missing="", verdict="partial", next_action="next_goal"
                )
                message = (
                    f"reflection failed: the results for goal {goal['id']} could not be "
                    f"judged, so it counts as unsettled ({error})"
                )
                events.append(_event("error", state, message=message))
    support = 1.0
    quoted = False
    if numbered:  # only made when there were observations
        # evidence named by sentence number is those sentences, word for word (nothing to
        # check); a result number written as [n.k] in the answer is result n
        evidence = evidence_from_references(reflection.evidence, numbered)
        quoted = evidence != reflection.evidence
        reflection = reflection.model_copy(
            update={
                "evidence": evidence,
                "answer": re.sub(r"\[(\d+)\.\d+\]", r"[\1]", reflection.answer),
            }
        )
    claimed = reflection.evidence
    if observations and not quoted:
        reflection, support = check_reflection(
            reflection, observations, keywords(f"{goal['goal']} {goal['query']}", 6)
        )
    next_node, next_action, status = _decide(
        reflection, {**goal, "_recalled_now": recalled}, observations, ctx
    )
    goal["status"] = status
    # a restated question is no answer, and a sentence copied twice ends it
    drafted = until_repeating(without_questions(reflection.answer))
    if status == "satisfied" and drafted and observations:
        # the goal's answer, drafted by the reflection that settled it: checked and used by
        # the answer step instead of a writer call when every goal has one
        goal["draft"] = _note_from(drafted, observations, goal["id"])
    if status == "satisfied" and observations and goal.get("draft"):
        _add_fact_draft(goal, drafted, reflection.facts, observations)
    update: dict[str, Any] = {"goals": goals, "usage": _usage_delta(usage)}
    if ctx.cache is not None and reflection.facts and observations:
        fact_event = await _record_facts(ctx, state, reflection, observations)
        if fact_event is not None:
            events.append(fact_event)
    notes = []
    if reflection.evidence.strip() and observations:
        notes.append(_note_from(reflection.evidence, observations, goal["id"]))
        if ctx.cache is not None:
            note_text = _NOTE_MARKER.sub("", notes[0]["text"]).strip()
            for source_id in notes[0]["source_ids"]:
                cache_obs = next(o for o in observations if o["source_id"] == source_id)
                ctx.cache.record_evidence(
                    ctx.run_id, goal["goal"], source_id, cache_obs.get("start"),
                    cache_obs.get("end"), note_text,
                )  # fmt: skip
    events.insert(
        0,
        _event(
            "reflection",
            state,
            goal_id=goal["id"],
            verdict=reflection.verdict,
            evidence=reflection.evidence,
            missing=reflection.missing,
            next_action=reflection.next_action,
            decision=next_node if next_action is None else next_action["tool"],
            goal_status=status,
            evidence_support=round(support, 2),
            unsupported_evidence=claimed if claimed != reflection.evidence else "",
            facts_proposed=[f.model_dump() for f in reflection.facts],
            draft=reflection.answer,
        ),
    )
    if next_node == "act":
        spent: ResearchState = {**state, "usage": add_usage(state.get("usage"), update["usage"])}
        reason = budget_reason(spent, ctx)
        if reason:
            goal["status"] = "partial" if notes else "abandoned"
            events.append(_event("budget", state, reason=reason))
            update["stop_reason"] = reason
            next_node, next_action = "answer", None
    if next_node == "act":
        next_node = _act_route(ctx, next_action)
    update.update({"next": next_node, "action": next_action, "notes": notes, "events": events})
    return update


async def _record_facts(
    ctx: RunContext,
    state: ResearchState,
    reflection: Reflection,
    observations: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """Store the reflection's facts that their cited result supports; the `fact` event."""
    assert ctx.cache is not None
    goal = next((g for g in state.get("goals") or [] if g["id"] == state.get("current_goal")), {})
    asked = f"{state['question']} {goal.get('goal', '')}"
    rows = grounded_facts(reflection.facts, observations, ctx.run_id, asked)
    if not rows:
        return None
    ids = await asyncio.to_thread(ctx.cache.record_facts, rows)
    by_source = {o["source_id"]: o for o in observations}
    facts = [
        {
            "id": fact_id,
            **{k: row[k] for k in ("subject", "attribute", "value", "source_id", "confidence")},
            "title": by_source[row["source_id"]].get("title", ""),
            "url": by_source[row["source_id"]].get("url", ""),
        }
        for fact_id, row in zip(ids, rows, strict=True)
    ]
    return _event("fact", state, goal_id=state.get("current_goal"), facts=facts)


def _number_sources(
    state: ResearchState, limit: int, focus_on: str = ""
) -> tuple[dict[int, SourceRef], dict[str, int], str]:
    """Number the read sources (noted ones first) and render them within `limit` chars. With
    `focus_on` (the question), only the sources the notes cite are given when there are notes
    (the others were judged beside the point), each cut to its sentences nearest the question."""
    sources = state.get("sources") or {}
    order: list[str] = []
    for note in state.get("notes") or []:
        order.extend(s for s in note["source_ids"] if s in sources and s not in order)
    for goal in state.get("goals") or []:
        for kind in ("draft", "fact_draft"):
            draft = goal.get(kind) or {}
            order.extend(s for s in draft.get("source_ids", []) if s in sources and s not in order)
    if not (focus_on and order):
        order.extend(s for s in sources if s not in order)
    numbered: dict[int, SourceRef] = {}
    by_id: dict[str, int] = {}
    blocks: list[str] = []
    used = 0
    share = max(300, limit // max(1, min(len(order), 6)))
    for source_id in order:
        record = sources[source_id]
        joined = _passages_text(record)
        text = focus(joined, focus_on, share) if focus_on else clip(joined, share)
        title = quote_untrusted(record.get("title") or source_id)
        block = (
            f'<source n="{len(numbered) + 1}" title="{title}">\n{quote_untrusted(text)}\n</source>'
        )
        if numbered and used + len(block) > limit:
            break
        used += len(block)
        n = len(numbered) + 1
        numbered[n] = SourceRef(source_id, record.get("url", ""), record.get("title", ""))
        by_id[source_id] = n
        blocks.append(block)
    return numbered, by_id, "\n".join(blocks)


def _render_notes_for_writer(notes: list[dict[str, Any]], by_id: dict[str, int]) -> str:
    lines = []
    for note in notes:
        ids = note["source_ids"]

        def renumber(match: re.Match[str], ids: list[str] = ids) -> str:
            k = int(match.group(1))
            n = by_id.get(ids[k]) if k < len(ids) else None
            return f"[{n}]" if n else ""

        lines.append("- " + _NOTE_MARKER.sub(renumber, note["text"]).strip())
    return "\n".join(lines) or "(none)"


def fallback_answer(state: ResearchState, reason: str) -> str:
    """The best answer without a writer: the table filled so far (wide questions), or the
    noted evidence, with its citations."""
    return fallback_result(state, reason)[0]


def fallback_result(
    state: ResearchState, reason: str
) -> tuple[str, list[dict[str, Any]], list[dict[str, str]] | None]:
    """(`fallback_answer`, the citations its [n] markers refer to, the partial table or None)."""
    if state.get("table_plan") and state.get("rows"):
        plan = TablePlan.from_state(state["table_plan"])
        enumeration = dict(state.get("enumeration") or {})
        enumeration["reason"] = f"partial: {reason}"
        answer, citations, table = render_table_answer(
            plan, state.get("rows") or {}, list(enumeration.get("candidates", {})), enumeration
        )
        return answer, citations, table
    numbered, by_id, _ = _number_sources(state, 10_000)
    answer = _fallback_text(state, reason, numbered, by_id)
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    citations = [
        {"n": n, "source_id": ref.source_id, "url": ref.url, "title": ref.title}
        for n, ref in numbered.items()
        if n in cited
    ]
    return answer, citations, None


def _fallback_text(
    state: ResearchState, reason: str, numbered: dict[int, SourceRef], by_id: dict[str, int]
) -> str:
    notes = state.get("notes") or []
    if not notes:
        if not numbered:
            return f"No answer: no relevant documents were found ({reason})."
        titles = ", ".join(f"{ref.title or ref.source_id} [{n}]" for n, ref in numbered.items())
        return f"No answer could be written ({reason}). Documents read: {titles}."
    return f"Partial answer ({reason}). Evidence found:\n" + _render_notes_for_writer(notes, by_id)


NO_DOCUMENTS = (
    "I could not find documents in the searched corpora that answer this question, so I cannot "
    "give a sourced answer."
)
NOT_ANSWERED = "The sources I read do not state the answer to this question."


async def answer_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """The answer: drafted by the reflections that settled every goal, or written from the
    notes and sources; then every sentence is held against the sources it cites
    (`agent.grounding`) and what no source supports is removed. The writer's text streams to
    the caller as `answer_delta` custom events."""
    ctx = runtime.context
    plan = state.get("plan") or {}
    columns = plan.get("columns") or []
    wide = plan.get("task_kind") == "wide" and bool(columns)
    question = state["question"]
    numbered, by_id, sources_text = _number_sources(
        state, ctx.search.answer_chars, focus_on="" if wide else question
    )
    read_ids = set((state.get("sources") or {}).keys())
    full_texts = {n: _source_text(state, ref.source_id) for n, ref in numbered.items()}
    usage = Usage()
    events: list[dict[str, Any]] = []
    stop_reason: str | None = None
    grounding: dict[str, Any] = {}
    confirmed: list[dict[str, Any]] = []
    emit = runtime.stream_writer
    text: str | None = None
    if not numbered:
        text = NO_DOCUMENTS
    elif not wide:
        drafted = _drafted_answer(state, by_id)
        checked = ground_answer(drafted, full_texts, question) if drafted else None
        if checked is not None and checked.answers and not checked.removed:
            # every goal answered by its reflection: no writer call
            checked = await _confirmed(ctx, question, checked, usage, confirmed)
            if checked.answers:
                text = checked.answer
                grounding = _grounding_data(checked, drafted=True, confirmed=confirmed)
        else:
            # some goals answered by their reflections, nothing noted for the others: what was
            # found and what was not, without a writer call (it would have nothing more)
            drafts, unfound = _checked_drafts(state, by_id, full_texts)
            if drafts.answers and not any(g["id"] in _noted_goals(state) for g in unfound):
                found = await _with_not_found(ctx, question, drafts, unfound, usage, confirmed)
                if found is not None:
                    text, drafts = found
                    grounding = _grounding_data(drafts, drafted=True, confirmed=confirmed)
        if text is not None:
            emit({"type": "answer_delta", "text": text})
    if text is None:
        if wide:
            rules = (
                "Answer with one markdown table inside a ```markdown fence, with exactly these "
                f"columns: {' | '.join(columns)}. One row per item; put the source numbers "
                "in the last cell of each row's text, e.g. [2]."
            )
        else:
            rules = (
                "Answer in one to three sentences (up to five when the question asks several "
                "things). Do not invent facts or source numbers."
            )
        messages = load_prompt("writer").render(
            question=question,
            notes=_render_notes_for_writer(state.get("notes") or [], by_id),
            sources=sources_text,
            format_rules=rules,
        )
        timeout = max(ctx.seconds_left(), 0.0) + WRITER_GRACE_SECONDS
        try:
            written, cost = await asyncio.wait_for(_stream_writer(ctx, messages, emit), timeout)
            usage.add(cost)
            record_call(ctx, "writer", "answer", messages, written, cost)
            text = strip_think(written).strip()
            if not text:
                raise ModelError("the writer returned an empty answer")
            if not wide:
                checked = ground_answer(text, full_texts, question)
                checked = await _confirmed(ctx, question, checked, usage, confirmed)
                grounding = _grounding_data(checked, drafted=False, confirmed=confirmed)
                if checked.answers:
                    text = checked.answer
                else:
                    drafts, unfound = _checked_drafts(state, by_id, full_texts)
                    found = await _with_not_found(ctx, question, drafts, unfound, usage, confirmed)
                    text = (
                        found[0]
                        if found is not None
                        else _not_answered(state, checked, by_id, full_texts)
                    )
        except (ModelError, TimeoutError) as error:
            events.append(_event("error", state, message=f"writer failed: {error}"))
            text = fallback_answer(state, f"writer failed: {error}")
            stop_reason = f"writer failed: {error}"
    wrong = contradicted_claims(confirmed)
    if wrong and ctx.cache is not None:
        # the facts this run stored for a relation the check contradicted are as wrong
        stale = facts_of_claims(state.get("events") or [], wrong)
        if stale:
            await asyncio.to_thread(ctx.cache.remove_facts, stale)
    if stop_reason is None and _model_unusable(state):
        stop_reason = "model output unusable: planning and every reflection failed"
    check = enforce_citations(text, numbered, read_ids)
    citations = [c.model_dump() for c in check.citations]
    if grounding.get("removed"):
        events.append(_event("grounding", state, **grounding))
    events.append(
        _event(
            "answer",
            state,
            answer=check.answer,
            citations=citations,
            rejected_citations=check.rejected,
            grounding=grounding,
        )
    )
    update: dict[str, Any] = {"stop_reason": stop_reason} if stop_reason else {}
    if (
        ctx.cache is not None
        and not stop_reason
        and not state.get("stop_reason")
        and citations
        and not check.rejected
    ):
        await _store_answer(ctx, state, check.answer, citations)
    return {
        **update,
        "answer": check.answer,
        "citations": citations,
        "rejected_citations": check.rejected,
        "events": events,
        "usage": _usage_delta(usage),
    }


async def _stream_writer(ctx: RunContext, messages: list[Any], emit: Any) -> tuple[str, Usage]:
    """The writer's reply, each piece handed to `emit` as it is generated."""
    model = ctx.models["writer"]
    parts: list[str] = []
    started = time.perf_counter()
    async for delta in model.stream(messages, max_tokens=WRITER_TOKENS):
        parts.append(delta)
        emit({"type": "answer_delta", "text": delta})
    text = "".join(parts)
    usage = getattr(model, "last_usage", None)
    if not isinstance(usage, Usage) or not usage.calls:
        usage = Usage(completion_tokens=len(parts), calls=1)
    usage.seconds = usage.seconds or time.perf_counter() - started
    return text, usage


def _passages_text(record: dict[str, Any]) -> str:
    """The passages the run read of one source, in order."""
    return " … ".join(p["text"] for p in record.get("passages", []))


def _source_text(state: ResearchState, source_id: str) -> str:
    """Everything the run read of a source: its title and passages."""
    record = (state.get("sources") or {}).get(source_id) or {}
    return f"{record.get('title', '')}\n{_passages_text(record)}"


def _drafted_answer(state: ResearchState, by_id: dict[str, int]) -> str:
    """The goals' drafted answers, renumbered for the answer, when every goal was settled with
    one; "" otherwise."""
    goals = state.get("goals") or []
    if not goals or any(g["status"] != "satisfied" or not g.get("draft") for g in goals):
        return ""
    lines = _render_notes_for_writer([g["draft"] for g in goals], by_id).splitlines()
    return " ".join(line.removeprefix("- ").strip() for line in lines)


def _checked_drafts(
    state: ResearchState, by_id: dict[str, int], full_texts: dict[int, str]
) -> tuple[GroundedAnswer, list[dict[str, Any]]]:
    """(the drafted answers of the goals whose draft passes the support check, renumbered,
    as one checked answer; the goals without one). A goal whose reflection's draft fails is
    answered by the source sentence that states its fact, when there is one."""
    parts: list[GroundedAnswer] = []
    unfound: list[dict[str, Any]] = []
    for goal in state.get("goals") or []:
        candidates = (
            [goal.get("draft"), goal.get("fact_draft")] if goal["status"] == "satisfied" else []
        )
        for draft in filter(None, candidates):
            line = _render_notes_for_writer([draft], by_id).removeprefix("- ").strip()
            checked = ground_answer(line, full_texts, state["question"])
            if checked.answers and not checked.removed:
                parts.append(checked)
                break
        else:
            unfound.append(goal)
    drafts = GroundedAnswer(
        answer=" ".join(p.answer for p in parts), kept=[c for p in parts for c in p.kept]
    )
    return drafts, unfound


async def _with_not_found(
    ctx: RunContext,
    question: str,
    drafts: GroundedAnswer,
    unfound: list[dict[str, Any]],
    usage: Usage,
    confirmed: list[dict[str, Any]],
) -> tuple[str, GroundedAnswer] | None:
    """What was found and what was not: the checked drafts after the relation check, then a
    "not found" sentence for each goal without one; None when no draft is left."""
    drafts = await _confirmed(ctx, question, drafts, usage, confirmed)
    if not drafts.answers:
        return None
    return " ".join([drafts.answer, *(_not_found(g) for g in unfound)]), drafts


def _noted_goals(state: ResearchState) -> set[int]:
    """The goals some reflection noted evidence for."""
    return {int(note["goal_id"]) for note in state.get("notes") or [] if "goal_id" in note}


def _not_found(goal: dict[str, Any]) -> str:
    return f"Not found in the sources I read: {goal['goal'].rstrip('.?! ')}."


async def _confirmed(
    ctx: RunContext,
    question: str,
    checked: GroundedAnswer,
    usage: Usage,
    judged: list[dict[str, Any]],
) -> GroundedAnswer:
    """`checked` after the relation check (`agent.relation_check`), when it is on; its cost is
    added to `usage` and what it judged to `judged`."""
    if not ctx.search.relation_check:
        return checked
    confirmation = await confirm_relations(ctx, question, checked, judged_before=judged)
    usage.add(confirmation.usage)
    judged.extend(confirmation.judged)
    return confirmation.checked


def _grounding_data(
    checked: GroundedAnswer, *, drafted: bool, confirmed: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "drafted": drafted,
        "checked": len(checked.kept) + len(checked.removed),
        "removed": [{"sentence": s.text, "reason": s.reason} for s in checked.removed],
    }
    if confirmed:
        data["confirmed"] = list(confirmed)
    return data


def _not_answered(
    state: ResearchState,
    checked: GroundedAnswer,
    by_id: dict[str, int],
    full_texts: dict[int, str],
) -> str:
    """No sentence of the written answer is supported: say so, keep what the writer said was
    not found, and give what the noted evidence does show (itself checked)."""
    gaps = [s.text for s in checked.kept if s.gap]
    if not state.get("notes"):
        return " ".join([NOT_ANSWERED, *gaps])
    notes = _render_notes_for_writer(state.get("notes") or [], by_id)
    shown = ground_answer(notes, full_texts, state["question"])
    if not shown.answers:
        return " ".join([NOT_ANSWERED, *gaps])
    intro = NOT_ANSWERED.removesuffix(".") + "; what they do state follows."
    return " ".join([intro, *gaps]) + "\n" + shown.answer


async def _store_answer(
    ctx: RunContext, state: ResearchState, answer: str, citations: list[dict[str, Any]]
) -> None:
    """Keep a cleanly finished answer for the same question asked again, valid while every
    tool it used (every tool, when it recalled stored facts) gives the same results (same
    scope) and for the shortest TTL among them."""
    assert ctx.cache is not None
    names = _tools_used(state)
    if any(e["type"] == "cache_hit" for e in state.get("events") or []):
        # recalled facts came from earlier runs' tools: the answer is only as fresh as all of
        # the sources, so it depends on every tool's scope
        names = [*names, *(n for n in ctx.tools.names() if n not in names)]
    scopes = await _tool_scopes(ctx, names)
    if scopes is None:
        return
    ttls = [_ttl(ctx, ctx.tools.get(name)) for name in names] or [ctx.knowledge.ttl]
    finite = [t for t in ttls if t is not None]
    ttl = min(finite) if finite else None
    if ttl == 0:
        return  # it depended on "now"
    payload = {"citations": citations, "tool_scopes": scopes, "plan": state.get("plan") or {}}
    await asyncio.to_thread(
        ctx.cache.put_answer,
        state["question"],
        ctx.answer_scope,
        answer,
        payload,
        ctx.run_id,
        ttl,
    )


def _model_unusable(state: ResearchState) -> bool:
    """True when the planner (if the run called it) and every model reflection failed."""
    messages = [
        e["data"].get("message", "") for e in state.get("events") or [] if e["type"] == "error"
    ]
    planned = (state.get("plan") or {}).get("planned_by", "planner") == "planner"
    planner_failed = not planned or any(m.startswith("planner failed") for m in messages)
    failed_reflections = sum(m.startswith("reflection failed") for m in messages)
    reflections = sum(e["type"] == "reflection" for e in state.get("events") or [])
    return planner_failed and failed_reflections > 0 and failed_reflections == reflections


def _route(state: ResearchState) -> str:
    return state.get("next", "answer")


def build_graph() -> StateGraph[ResearchState, RunContext, ResearchState, ResearchState]:
    """The uncompiled graph; compile it with a checkpointer."""
    graph = StateGraph(ResearchState, context_schema=RunContext)
    graph.add_node("reuse", reuse_node)
    graph.add_node("plan", plan_node)
    graph.add_node("goal", goal_node)
    graph.add_node("recall", recall_node)
    graph.add_node("act", act_node)
    graph.add_node("reflect", reflect_node)
    graph.add_node("answer", answer_node)
    graph.add_edge(START, "reuse")
    graph.add_conditional_edges("reuse", _route, {"plan": "plan", "end": END})
    graph.add_conditional_edges("plan", _route, {"goal": "goal", "table_plan": "table_plan"})
    graph.add_node("table_plan", table_plan_node)
    graph.add_node("enumerate", enumerate_node)
    graph.add_node("fill", fill_node)  # type: ignore[call-overload]  # a Send payload, not the state
    graph.add_node("coverage", coverage_node)
    graph.add_node("table_answer", table_answer_node)
    graph.add_edge("table_plan", "enumerate")
    graph.add_conditional_edges("enumerate", route_enumeration, ["enumerate", "fill", "coverage"])
    graph.add_edge("fill", "coverage")
    graph.add_conditional_edges("coverage", route_coverage, ["fill", "table_answer"])
    graph.add_edge("table_answer", END)
    graph.add_node("choose", choose_node)
    graph.add_conditional_edges(
        "goal", _route, {"recall": "recall", "act": "act", "choose": "choose", "answer": "answer"}
    )
    graph.add_conditional_edges(
        "recall", _route, {"act": "act", "choose": "choose", "reflect": "reflect"}
    )
    graph.add_edge("choose", "act")
    graph.add_edge("act", "reflect")
    graph.add_conditional_edges(
        "reflect", _route, {"act": "act", "choose": "choose", "goal": "goal", "answer": "answer"}
    )
    graph.add_edge("answer", END)
    return graph
