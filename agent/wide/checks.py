"""Targeted membership checks: a condition a row's text did not settle, decided by one model
call that must quote the words deciding it; the code, not the model, decides whether the quote
is in the text and meets the condition."""

from __future__ import annotations

from typing import Any

from agent.llm.base import ModelError, Usage
from agent.prompts import load_prompt
from agent.state import RunContext
from agent.steps import failed_usage, structured
from agent.text import quote_untrusted
from agent.wide.cells import build_excerpt
from agent.wide.fields import fold, parse_fields
from agent.wide.membership import groups, line_around, quote_meets
from agent.wide.schemas import ConditionVerdict
from agent.wide.table_plan import Column, TablePlan, match_column

CHECK_TOKENS = 120


def take_check(ctx: RunContext) -> bool:
    """One of the run's targeted membership checks (max_doubtful_checks), if any are left."""
    used = int(ctx.scratch.get("wide_checks", 0))
    if used >= ctx.wide.max_doubtful_checks or ctx.seconds_left() <= 0:
        return False
    ctx.scratch["wide_checks"] = used + 1
    return True


def needs_document_check(plan: TablePlan, indices: list[int]) -> list[int]:
    """The unsettled groups no column can settle (their field is not a table column)."""
    condition_groups = groups(plan.conditions)
    return [
        i for i in indices if not any(match_column(c, plan.columns) for c in condition_groups[i])
    ]


async def check_groups(
    ctx: RunContext, plan: TablePlan, document: dict[str, Any], key: str, indices: list[int]
) -> tuple[str, Usage]:
    """One targeted check per unsettled condition group: the model finds the words of the
    text that decide it (the lines stating its value are shown first), and the code decides:
    the quote must be in the text and must itself meet the condition (hold the value, or a
    value that passes the comparison). pass / fail / unknown (no check left, or the model
    failed)."""
    condition_groups = groups(plan.conditions)
    usage = Usage()
    text = document["text"]
    fields = parse_fields(text)
    for index in indices:
        if not take_check(ctx):
            return "unknown", usage
        group = condition_groups[index]
        condition_text = " or ".join(
            f"{c.field or 'the text'} {c.test.replace('_', ' ')} {c.value}" for c in group
        )
        columns = [Column(c.field or c.value, "text", condition_text) for c in group]
        excerpt = build_excerpt(document.get("title", ""), text, fields, columns)
        for condition in group:  # the lines that state the value, where the text has them
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
            verdict, spent = await structured(
                ctx, "reflector", messages, ConditionVerdict, CHECK_TOKENS
            )
        except (ModelError, TimeoutError) as error:
            usage.add(failed_usage(error))
            return "unknown", usage
        usage.add(spent)
        grounded = bool(verdict.quote.strip()) and fold(verdict.quote) in fold(excerpt.text)
        if not (verdict.holds and grounded and any(quote_meets(c, verdict.quote) for c in group)):
            return "fail", usage
    return "pass", usage
