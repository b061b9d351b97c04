"""Tool choice for a step: retrieve the few tools that fit its goal, let the model pick one.

Used only when imported tools are registered (`wideseek tools import`): then every search step
retrieves the top tools for the step's goal out of the whole catalogue (`ToolRetriever`), adds
demonstrations that tell them apart (`select_demos`), and asks the model for one call, its
name constrained to the retrieved tools or "none" (then the planned corpus search runs: a
1.5B model offered the corpus search beside the APIs kept it two times in three). The
arguments are checked against the tool's own schema; a reply that does not validate is
retried once with the reason, then the planned corpus search goes ahead. Only retrieved tools
ever reach the prompt.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from agent.llm.base import Message, ModelError, Usage
from agent.prompts import load_prompt
from agent.state import RunContext
from agent.steps import structured
from agent.text import clip
from retriever.demo_selector import Demo, select_demos
from retriever.tool_retriever import ToolHit, ToolRetriever
from tools.base import ToolError, ToolRegistry
from tools.cards import ToolCard

__all__ = ["ToolChoiceResult", "ToolSelector", "choose_tool"]

CHOICE_TOKENS = 300
DESCRIPTION_CHARS = 300
SCHEMA_CHARS = 600
CORE_TOOLS = ("search", "read")
NO_TOOL = "none"  # the reply when no retrieved tool fits: the planned corpus search goes ahead
MIN_DENSE = 0.25  # cosine of MiniLM below which a card is unrelated to the request
MIN_EXAMPLE = 0.5


@dataclass
class ToolSelector:
    """The catalogue's retriever and how many tools and demonstrations a step gets."""

    retriever: ToolRetriever
    k: int = 5
    max_demos: int = 3

    def retrieve(self, query: str, goal: str, tools: ToolRegistry) -> list[ToolHit]:
        """The best `k` registered tools for the step (the core corpus tools excluded: the
        corpus search is always offered)."""
        hits = self.retriever.search(query, self.k + len(CORE_TOOLS), goal=goal)
        usable = [
            h
            for h in hits
            if h.card.name in tools and h.card.name not in CORE_TOOLS and _related(h)
        ]
        return usable[: self.k]


def _related(hit: ToolHit) -> bool:
    """Whether anything matched at all: a shared term, a close card or a close example (a
    step no tool fits gets no tool-choice call)."""
    parts = hit.parts
    return (
        parts.get("bm25", 0.0) > 0
        or (parts.get("segment", 0.0) > 0 and "dense" not in parts)
        or parts.get("dense", 0.0) >= MIN_DENSE
        or parts.get("examples", 0.0) >= MIN_EXAMPLE
    )


@dataclass(frozen=True)
class ToolChoiceResult:
    """What the step will call, what was offered and why."""

    tool: str
    arguments: dict[str, Any]
    hits: list[ToolHit]
    demos: list[Demo]
    usage: Usage
    error: str | None = None


def _card_block(card: ToolCard) -> str:
    schema = json.dumps(card.parameters, ensure_ascii=False)
    return (
        f"- {card.name}: {clip(card.description, DESCRIPTION_CHARS)}\n"
        f"  arguments: {clip(schema, SCHEMA_CHARS)}"
    )


def _demo_block(demos: Sequence[Demo]) -> str:
    if not demos:
        return "(none)"
    lines = []
    for demo in demos:
        call = json.dumps({"tool": demo.tool, "arguments": demo.arguments}, ensure_ascii=False)
        lines.append(f"Request: {clip(demo.query, 200)}\nCall: {call}")
    return "\n".join(lines)


def _reply_schema(names: Sequence[str]) -> type[BaseModel]:
    literal: Any = Literal[tuple(names)]
    return create_model(
        "ToolChoice",
        tool=(literal, Field(description="the chosen tool's name")),
        arguments=(dict[str, Any], Field(default_factory=dict)),
    )


def _validated(tools: ToolRegistry, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """`arguments` when the tool's own schema accepts them (raises ToolError otherwise)."""
    tools.get(name).validate_args(arguments)
    return arguments


async def choose_tool(
    ctx: RunContext,
    selector: ToolSelector,
    *,
    question: str,
    goal: str,
    query: str,
    search_arguments: dict[str, Any],
) -> ToolChoiceResult:
    """The call for one step: a retrieved tool with validated arguments, or the corpus
    `search` with `search_arguments` (when nothing fits or the model fails)."""
    hits = await asyncio.to_thread(selector.retrieve, query, goal, ctx.tools)
    if not hits:
        return ToolChoiceResult("search", search_arguments, [], [], Usage())
    demos = await asyncio.to_thread(
        select_demos, selector.retriever, hits, f"{goal} {query}", max_demos=selector.max_demos
    )
    names = [h.card.name for h in hits]
    offered = [*names, NO_TOOL]
    blocks = [_card_block(h.card) for h in hits]
    messages = load_prompt("tool_choice").render(
        question=clip(question, 1500),
        goal=goal,
        query=query,
        tools="\n".join(blocks),
        demos=_demo_block(demos),
    )
    schema = _reply_schema(offered)
    usage = Usage()
    error: str | None = None
    for _attempt in range(2):
        try:
            reply, used = await structured(
                ctx, "planner", messages, schema, CHOICE_TOKENS, task="tool_choice"
            )
        except (ModelError, TimeoutError) as exc:
            error = f"tool choice failed: {exc}"
            break
        usage.add(used)
        name = str(reply.tool)
        if name == NO_TOOL:
            return ToolChoiceResult("search", search_arguments, hits, demos, usage)
        try:
            arguments = _validated(ctx.tools, name, dict(reply.arguments))
        except ToolError as exc:
            error = f"arguments for {name} do not validate: {clip(str(exc), 300)}"
            messages = [
                *messages,
                Message("assistant", json.dumps({"tool": name, "arguments": reply.arguments})),
                Message("user", f"{error}. Reply again with arguments that fit its schema."),
            ]
            continue
        return ToolChoiceResult(name, arguments, hits, demos, usage)
    return ToolChoiceResult("search", search_arguments, hits, demos, usage, error)
