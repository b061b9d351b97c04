"""How the wide nodes call the run's tools: with the configured timeout, a whole document at a
time, with its structure where the backend keeps one."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agent.state import RunContext
from retriever.parse_text import parse_text
from retriever.structure import DocumentStructure
from tools.base import ToolError

log = logging.getLogger(__name__)


def fill_slots(ctx: RunContext) -> asyncio.Semaphore:
    """Bounded concurrency of the fill branches of one run."""
    slots = ctx.scratch.get("wide_slots")
    if slots is None:
        slots = ctx.scratch["wide_slots"] = asyncio.Semaphore(ctx.wide.concurrency)
    return slots


async def call_tool(ctx: RunContext, name: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """A tool call with the configured timeout; raises ToolError (timeouts included)."""
    tool = ctx.tools.get(name)
    try:
        result = await asyncio.wait_for(tool(arguments), ctx.search.tool_timeout)
    except TimeoutError:
        raise ToolError(f"{name} timed out after {ctx.search.tool_timeout:.0f} s") from None
    return [o.model_dump() for o in result]


async def read_full(ctx: RunContext, source_id: str) -> dict[str, Any]:
    """The whole document as an observation dict (source_id, url, title, text)."""
    observations = await call_tool(ctx, "read", {"doc_id": source_id, "goal": "", "full": True})
    if not observations:
        raise ToolError(f"{source_id} has no text")
    return observations[0]


async def read_span(
    ctx: RunContext, source_id: str, start: int, end: int, kept: str | None = None
) -> dict[str, Any]:
    """A listing row's document with only the row's own text (`start:end`): the copy kept
    with the row when there is one, else read from the document. Raises ToolError."""
    if kept:
        return {"source_id": source_id, "text": kept}
    document = await read_full(ctx, source_id)
    return {**document, "text": document["text"][start:end]}


async def structure_of(ctx: RunContext, document: dict[str, Any]) -> DocumentStructure | None:
    """The document's structure: the one its backend stored (`structure_of` of the run's `read`
    tool, when it has one and the text is the stored text), else read again from the text the
    tool returned (documents are returned as text with `##` headings, `a | b` table rows,
    `- ` items and `term: description` lines, which `parse_text` reads back)."""
    text = document.get("text", "")
    try:
        tool = ctx.tools.get("read")
    except ToolError:
        tool = None
    reader = getattr(tool, "structure_of", None)
    if reader is not None:
        try:
            structure = await asyncio.to_thread(reader, document["source_id"])
        except Exception as error:
            log.debug("no stored structure for %s: %s", document.get("source_id"), error)
            structure = None
        if structure is not None and structure.root.end == len(text):
            return structure
    return await asyncio.to_thread(parse_text, text, markdown=True, title=document.get("title", ""))
