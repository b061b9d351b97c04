"""A small real Tool over an in-memory document list, and scripted models that stall, for
control-flow tests of the graph."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from agent import ScriptedChatModel
from tools.base import Observation, Tool, ToolError

DOCS = {
    "wiki:Paris": ("Paris", "Paris is the capital and largest city of France."),
    "wiki:France": ("France", "France is a country in Western Europe. Its capital is Paris."),
    "wiki:Berlin": ("Berlin", "Berlin is the capital of Germany."),
}


class SearchArgs(BaseModel):
    query: str
    k: int = 5


class ReadArgs(BaseModel):
    doc_id: str
    goal: str


class WordSearch(Tool):
    name: ClassVar[str] = "search"
    description: ClassVar[str] = "word-overlap search over a few documents"
    Args: ClassVar[type[BaseModel]] = SearchArgs

    def __init__(self) -> None:
        self.queries: list[str] = []

    async def run(self, args: SearchArgs) -> list[Observation]:
        self.queries.append(args.query)
        words = {w.lower() for w in args.query.split()}
        hits = []
        for sid, (title, text) in DOCS.items():
            score = len(words & {w.strip(".").lower() for w in text.split()})
            if score:
                hits.append((score, sid, title, text))
        hits.sort(reverse=True)
        return [
            Observation(
                source_id=sid,
                url=f"https://example.org/{title}",
                title=title,
                text=text,
                score=float(score),
                start=0,
                end=len(text),
            )
            for score, sid, title, text in hits[: args.k]
        ]


class Read(Tool):
    name: ClassVar[str] = "read"
    description: ClassVar[str] = "read a document"
    Args: ClassVar[type[BaseModel]] = ReadArgs

    async def run(self, args: ReadArgs) -> list[Observation]:
        if args.doc_id not in DOCS:
            raise ToolError(f"unknown document {args.doc_id!r}")
        title, text = DOCS[args.doc_id]
        return [
            Observation(
                source_id=args.doc_id,
                url=f"https://example.org/{title}",
                title=title,
                text=text,
                start=0,
                end=len(text),
            )
        ]


class HangsOnSecondCall(ScriptedChatModel):
    """Answers the first call (the plan); the second (the reflection) is recorded, sets
    `entered` and never returns, like a process that dies or a run that is cancelled there."""

    def __init__(self, replies: Sequence[Any], entered: asyncio.Event) -> None:
        super().__init__(replies)
        self.entered = entered

    async def _generate(self, messages: Any, **kwargs: Any) -> Any:
        if len(self.calls) == 1:
            self.calls.append(list(messages))
            self.entered.set()
            await asyncio.Event().wait()
        return await super()._generate(messages, **kwargs)


class Slow(ScriptedChatModel):
    """Each reply after `delay` seconds."""

    def __init__(self, replies: Sequence[Any], delay: float) -> None:
        super().__init__(replies)
        self.delay = delay

    async def _generate(self, messages: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(self.delay)
        return await super()._generate(messages, **kwargs)
