"""Helpers every graph node uses: events, usage deltas, budget checks, bounded model calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from agent.events import Event, EventType
from agent.llm.base import Message, StructuredOutputError, Usage
from agent.state import ResearchState, RunContext

log = logging.getLogger(__name__)


def event(event_type: EventType, state: ResearchState, /, **data: Any) -> dict[str, Any]:
    steps = int((state.get("usage") or {}).get("steps", 0))
    return Event(type=event_type, step=steps, data=data).model_dump()


def usage_delta(usage: Usage) -> dict[str, float]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "model_calls": usage.calls,
        "model_seconds": usage.seconds,
    }


def failed_usage(error: BaseException) -> Usage:
    """What a failed structured call still cost (tokens of the rejected attempts)."""
    return error.usage if isinstance(error, StructuredOutputError) else Usage()


def budget_reason(state: ResearchState, ctx: RunContext) -> str | None:
    """The first exhausted budget, or None."""
    usage = state.get("usage") or {}
    budget = ctx.budget
    if usage.get("steps", 0) >= budget.max_steps:
        return f"step budget reached ({budget.max_steps} steps)"
    if usage.get("tool_calls", 0) >= budget.max_tool_calls:
        return f"tool-call budget reached ({budget.max_tool_calls} calls)"
    tokens = usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
    if tokens >= budget.max_tokens:
        return f"token budget reached ({int(tokens)} of {budget.max_tokens})"
    if ctx.seconds_left() <= 0:
        return f"time budget reached ({budget.max_seconds:.0f} s)"
    return None


async def structured(
    ctx: RunContext,
    role: str,
    messages: Sequence[Message],
    schema: type[BaseModel],
    max_tokens: int,
    *,
    task: str | None = None,
) -> tuple[Any, Usage]:
    """A schema-constrained call bounded by the time budget. Raises ModelError/TimeoutError.
    The call is recorded (`ctx.record_call`) under `task` (default: the schema's name)."""
    left = ctx.seconds_left()
    if left <= 0:
        raise TimeoutError("no time left in the budget")
    model = ctx.models[role]  # type: ignore[index]
    parsed, usage = await asyncio.wait_for(
        model.parse(messages, schema, max_tokens=max_tokens), left
    )
    record_call(ctx, role, task or schema.__name__, messages, parsed.model_dump_json(), usage)
    return parsed, usage


def record_call(
    ctx: RunContext,
    role: str,
    task: str,
    messages: Sequence[Message],
    output: str,
    usage: Usage,
) -> None:
    """Hand one model call to the run's recorder (the run store's traces); a recorder that
    fails costs the trace, never the run."""
    if ctx.record_call is None:
        return
    try:
        ctx.record_call(role, task, [m.to_dict() for m in messages], output, usage)
    except Exception as error:
        log.warning("model call not recorded: %s", error)
