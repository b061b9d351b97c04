"""The research loop as a LangGraph graph: plan -> goal -> act -> reflect -> ... -> answer.

Every search step carries an explicit goal; reflection judges the evidence against it and picks
the next move. Budgets end a run with the best answer so far. Nodes return plain data (so the
SQLite checkpoint can resume a run) plus the events they emit.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from agent.citations import SourceRef, attribute_uncited, enforce_citations
from agent.facts import check_reflection, fact_item, fact_observations, grounded_facts
from agent.llm.base import ModelError, Usage
from agent.llm.repair import strip_think
from agent.prompts import LOCAL_COLLECTION, WEB_COLLECTION, load_prompt
from agent.schemas import Plan, Reflection, SubGoal
from agent.state import ResearchState, RunContext, add_usage
from agent.steps import budget_reason, record_call
from agent.steps import event as _event
from agent.steps import failed_usage as _failed_usage
from agent.steps import structured as _structured
from agent.steps import usage_delta as _usage_delta
from agent.text import clip, keywords, quote_untrusted
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
REFLECTION_TOKENS = 500  # evidence, up to 4 facts and the decision; 350 cut long evidence short
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
    try:
        plan, usage = await _structured(
            ctx,
            "planner",
            load_prompt("planner").render(
                question=question, collection=WEB_COLLECTION if ctx.web else LOCAL_COLLECTION
            ),
            Plan,
            400,
        )
    except (ModelError, TimeoutError) as error:
        usage = _failed_usage(error)
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
        events.append(
            _event("error", state, message=f"planner failed, using a one-goal plan: {error}")
        )
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
    plan_data = plan.model_dump()
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
        facts = await asyncio.to_thread(ctx.recall, goal["goal"], goal["query"], ctx.run_id)
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


def _format_results(observations: list[dict[str, Any]], limit: int) -> str:
    if not observations:
        return "(no results)"
    share = max(200, limit // len(observations))
    blocks = []
    for n, obs in enumerate(observations, 1):
        text = quote_untrusted(clip(obs["text"], share))
        title = quote_untrusted(obs.get("title") or obs["source_id"])
        context = obs.get("context") or ""
        where = (
            f"({quote_untrusted(clip('; '.join(context.splitlines()), 300))})\n" if context else ""
        )
        blocks.append(f'<result n="{n}" title="{title}">\n{where}{text}\n</result>')
    return "\n".join(blocks)


def _format_notes(notes: list[dict[str, Any]], limit: int = 1200) -> str:
    if not notes:
        return "(none yet)"
    lines = [f"- {_NOTE_MARKER.sub('', n['text']).strip()}" for n in notes]
    return clip("\n".join(lines), limit) if sum(map(len, lines)) > limit else "\n".join(lines)


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
            text = f"{text.rstrip()} [[0]]"
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
        messages = load_prompt("reflector").render(
            question=state["question"],
            goal=goal["goal"],
            evidence_needed=goal["evidence_needed"],
            queries="; ".join(goal["queries"]) or "(none)",
            notes=_format_notes(state.get("notes") or []),
            tool=tool_text,
            results=_format_results(observations, ctx.search.evidence_chars),
        )
        try:
            reflection, usage = await _structured(
                ctx, "reflector", messages, Reflection, REFLECTION_TOKENS
            )
        except (ModelError, TimeoutError) as error:
            usage = _failed_usage(error)
            reflection = Reflection(
                evidence="", facts=[], missing="", verdict="partial", next_action="next_goal"
            )
            events.append(_event("error", state, message=f"reflection failed: {error}"))
    support = 1.0
    claimed = reflection.evidence
    if observations:
        reflection, support = check_reflection(
            reflection, observations, keywords(f"{goal['goal']} {goal['query']}", 6)
        )
    next_node, next_action, status = _decide(
        reflection, {**goal, "_recalled_now": recalled}, observations, ctx
    )
    goal["status"] = status
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
    rows = grounded_facts(reflection.facts, observations, ctx.run_id)
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
    state: ResearchState, limit: int
) -> tuple[dict[int, SourceRef], dict[str, int], str, dict[int, str]]:
    """Number the read sources (noted ones first) and render them within `limit` chars."""
    sources = state.get("sources") or {}
    order: list[str] = []
    for note in state.get("notes") or []:
        order.extend(s for s in note["source_ids"] if s in sources and s not in order)
    order.extend(s for s in sources if s not in order)
    numbered: dict[int, SourceRef] = {}
    by_id: dict[str, int] = {}
    blocks: list[str] = []
    texts: dict[int, str] = {}
    used = 0
    share = max(300, limit // max(1, min(len(order), 6)))
    for source_id in order:
        record = sources[source_id]
        text = clip(" … ".join(p["text"] for p in record["passages"]), share)
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
        texts[n] = text
        blocks.append(block)
    return numbered, by_id, "\n".join(blocks), texts


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
    numbered, by_id, _, _ = _number_sources(state, 10_000)
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


async def answer_node(state: ResearchState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    numbered, by_id, sources_text, source_texts = _number_sources(state, ctx.search.answer_chars)
    read_ids = set((state.get("sources") or {}).keys())
    plan = state.get("plan") or {}
    columns = plan.get("columns") or []
    usage = Usage()
    events: list[dict[str, Any]] = []
    stop_reason: str | None = None
    if not numbered:
        text = (
            "I could not find documents in the searched corpora that answer this question, so "
            "I cannot give a sourced answer."
        )
    else:
        if plan.get("task_kind") == "wide" and columns:
            rules = (
                "Answer with one markdown table inside a ```markdown fence, with exactly these "
                f"columns: {' | '.join(columns)}. One row per item; put the source numbers "
                "in the last cell of each row's text, e.g. [2]."
            )
        else:
            rules = "Answer in one to five sentences. Do not invent facts or source numbers."
        messages = load_prompt("writer").render(
            question=state["question"],
            notes=_render_notes_for_writer(state.get("notes") or [], by_id),
            sources=sources_text,
            format_rules=rules,
        )
        timeout = max(ctx.seconds_left(), 0.0) + WRITER_GRACE_SECONDS
        try:
            completion = await asyncio.wait_for(
                ctx.models["writer"].complete(messages, max_tokens=500), timeout
            )
            usage = completion.usage
            record_call(ctx, "writer", "answer", messages, completion.text, usage)
            text = strip_think(completion.text).strip()
            if not text:
                raise ModelError("the writer returned an empty answer")
        except (ModelError, TimeoutError) as error:
            events.append(_event("error", state, message=f"writer failed: {error}"))
            text = fallback_answer(state, f"writer failed: {error}")
            stop_reason = f"writer failed: {error}"
    if stop_reason is None and _model_unusable(state):
        stop_reason = "model output unusable: planning and every reflection failed"
    check = enforce_citations(attribute_uncited(text, source_texts), numbered, read_ids)
    citations = [c.model_dump() for c in check.citations]
    events.append(
        _event(
            "answer",
            state,
            answer=check.answer,
            citations=citations,
            rejected_citations=check.rejected,
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
    """True when the planner and every model reflection of the run failed."""
    messages = [
        e["data"].get("message", "") for e in state.get("events") or [] if e["type"] == "error"
    ]
    planner_failed = any(m.startswith("planner failed") for m in messages)
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
