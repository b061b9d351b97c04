"""`search` and `read` over the web and the local corpora at once (what `ask --web` runs).

The agent's plan knows two moves, search and read; with web search on they reach both worlds:

- `WebAndCorpusSearchTool` (name `search`) asks the web backends and the local corpus search
  concurrently and interleaves their results (web first), k in all. A failing side degrades
  the step (its reason is logged and kept in `last_failures`); only both failing is an error.
- `WebAndCorpusReadTool` (name `read`) reads a `web:<url>` source with `read_url` and any other
  source id with the corpus reader, so the reflector's "read result 2" works for either.
  A web source id is the page's normalised URL (one id per page, whatever the engine wrote);
  the read fetches the URL the engine gave for it (`urls`, shared with the search), which
  still works where the normalised form does not (http-only sites, `www.` hosts).

What pages say is data: these tools return passages and never act on their content.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from retriever.structure import DocumentStructure
from tools.base import Observation, Tool, ToolError
from tools.structured_read import FULL_TEXT_LIMIT, StructureArgs
from tools.web.read_tool import ReadUrlTool
from tools.web.search_tool import WebSearchTool, web_source_id

__all__ = ["WEB_PREFIX", "WebAndCorpusReadTool", "WebAndCorpusSearchTool"]

log = logging.getLogger(__name__)

WEB_PREFIX = "web:"
STRUCTURES_KEPT = 64
"""Structures of pages read whole that the reader keeps for wide research's listings."""


class WebAndCorpusSearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=500, description="keywords or a short question")
    k: int = Field(default=5, ge=1, le=20, description="how many results in all (1-20)")
    offset: int = Field(default=0, ge=0, le=2000, description="corpus: skip this many results")
    exact: bool = Field(default=False, description="corpus: only passages with the phrase")
    recency: Literal["day", "week", "month", "year"] | None = Field(
        default=None, description="web: only pages from the last day/week/month/year"
    )
    date_from: date | None = Field(default=None, description="web: published on or after")
    date_to: date | None = Field(default=None, description="web: published on or before")


def _interleave(first: list[Observation], second: list[Observation], k: int) -> list[Observation]:
    merged: list[Observation] = []
    for pair in zip(first, second, strict=False):
        merged.extend(pair)
    longer = first if len(first) > len(second) else second
    merged.extend(longer[min(len(first), len(second)) :])
    seen: set[str] = set()
    unique: list[Observation] = []
    for observation in merged:
        key = observation.url or observation.source_id
        if key in seen:
            continue
        seen.add(key)
        unique.append(observation)
    return unique[:k]


class _WebAndCorpus(Tool):
    """What both tools share: a web side, an optional corpus side, and the source ids each
    side answers for."""

    web: Tool
    corpus: Tool | None

    def cache_scope(self) -> str:
        corpus = self.corpus.cache_scope() if self.corpus is not None else "no corpus"
        return f"{self.web.cache_scope()}|{corpus}"

    def source_status(
        self, source_id: str, start: int | None, end: int | None, text: str | None
    ) -> bool | None:
        if self.corpus is None or source_id.startswith(WEB_PREFIX):
            return None
        return self.corpus.source_status(source_id, start, end, text)


class WebAndCorpusSearchTool(_WebAndCorpus):
    """The web and the local corpora in one search step."""

    name: ClassVar[str] = "search"
    description: ClassVar[str] = (
        "Search the web (live search engines) and the local document collections at once; "
        "returns up to k results, each with a title, URL or source id and a snippet."
    )
    Args: ClassVar[type[BaseModel]] = WebAndCorpusSearchArgs
    examples: ClassVar[list[dict[str, Any]]] = [
        {"query": "Sydney Harbour Bridge opening year"},
        {"query": "Python release", "recency": "month"},
    ]
    tags: ClassVar[tuple[str, ...]] = ("web", "search", "corpus")
    cache_ttl: ClassVar[float | None] = 0
    """Never cached as a whole: each backend's results are cached inside the web search, and a
    merged result made while one side was down must not outlive the outage."""

    web: WebSearchTool

    def __init__(
        self, web: WebSearchTool, corpus: Tool | None = None, urls: dict[str, str] | None = None
    ) -> None:
        self.web = web
        self.corpus = corpus
        self.urls = urls if urls is not None else {}
        """source id -> the URL a search result gave for it (what `read` fetches)."""
        self.last_failures: list[str] = []

    async def _side(self, tool: Tool, arguments: dict[str, Any]) -> list[Observation] | str:
        try:
            return await tool(arguments)
        except ToolError as error:
            return str(error)

    async def run(self, args: WebAndCorpusSearchArgs) -> list[Observation]:
        web_args: dict[str, Any] = {"query": args.query, "k": args.k}
        for key in ("recency", "date_from", "date_to"):
            if getattr(args, key) is not None:
                web_args[key] = getattr(args, key)
        jobs = [self._side(self.web, web_args)] if args.offset == 0 else []
        if self.corpus is not None:
            corpus_args = {"query": args.query, "k": args.k, "offset": args.offset}
            if args.exact:
                corpus_args["exact"] = True
            jobs.append(self._side(self.corpus, corpus_args))
        outcomes = await asyncio.gather(*jobs)
        lists = [o for o in outcomes if isinstance(o, list)]
        self.last_failures = [o for o in outcomes if isinstance(o, str)]
        for failure in self.last_failures:
            log.warning("search degraded: %s", failure)
        if not lists:
            raise ToolError("search failed: " + "; ".join(self.last_failures or ["no source"]))
        for observations in lists:
            for observation in observations:
                if observation.source_id.startswith(WEB_PREFIX) and observation.url:
                    self.urls[observation.source_id] = observation.url
        if len(lists) == 1:
            return lists[0][: args.k]
        return _interleave(lists[0], lists[1], args.k)


class WebAndCorpusReadArgs(StructureArgs):
    doc_id: str = Field(
        min_length=1,
        max_length=2100,
        description="the source_id of a search result: 'web:<url>' for a web page, "
        "'<corpus>:<doc_id>' for a local document",
    )
    goal: str = Field(default="", max_length=500, description="what to learn from it")
    full: bool = Field(default=False, description="the whole text as one passage")


class WebAndCorpusReadTool(_WebAndCorpus):
    """Reads a web page (`web:<url>`) or a local document, whichever the source id names."""

    name: ClassVar[str] = "read"
    description: ClassVar[str] = (
        "Read a search result in full: a web page or PDF ('web:<url>') or a local document "
        "('<corpus>:<doc_id>'); returns the passages most relevant to the goal, each with its "
        "section path. outline=true lists the sections and tables; section='...' returns one "
        "whole section and table='2' (or words of its caption) one whole table."
    )
    Args: ClassVar[type[BaseModel]] = WebAndCorpusReadArgs
    tags: ClassVar[tuple[str, ...]] = ("web", "read", "corpus")
    cache_ttl: ClassVar[float | None] = ReadUrlTool.cache_ttl

    web: ReadUrlTool

    def __init__(
        self, web: ReadUrlTool, corpus: Tool | None = None, urls: dict[str, str] | None = None
    ) -> None:
        self.web = web
        self.corpus = corpus
        self.urls = urls if urls is not None else {}
        self._structures: OrderedDict[str, DocumentStructure] = OrderedDict()

    def structure_of(self, source_id: str) -> DocumentStructure | None:
        """The structure of a page this tool read whole lately, or of a local document."""
        if source_id in self._structures:
            return self._structures[source_id]
        reader = getattr(self.corpus, "structure_of", None)
        if reader is None or source_id.startswith(WEB_PREFIX):
            return None
        structure: DocumentStructure | None = reader(source_id)
        return structure

    async def _whole_page(self, url: str) -> Observation:
        """A page's whole main text as one passage (at most `FULL_TEXT_LIMIT` characters),
        as the corpus reader gives a whole document (wide tasks read rows this way)."""
        page = await self.web.fetch(url)
        document = await self.web.extract(page)
        text = document.text[:FULL_TEXT_LIMIT]
        source_id = web_source_id(page.final_url)
        if document.structure is not None and len(document.text) <= FULL_TEXT_LIMIT:
            self._structures[source_id] = document.structure
            while len(self._structures) > STRUCTURES_KEPT:
                self._structures.popitem(last=False)
        return Observation(
            source_id=source_id,
            url=page.final_url,
            title=document.title or page.final_url,
            text=text,
            start=0,
            end=len(text),
        )

    async def run(self, args: WebAndCorpusReadArgs) -> list[Observation]:
        doc_id = args.doc_id.strip()
        if doc_id.startswith(WEB_PREFIX) or doc_id.startswith(("http://", "https://")):
            url = self.urls.get(doc_id) or (
                doc_id[len(WEB_PREFIX) :] if doc_id.startswith(WEB_PREFIX) else doc_id
            )
            if args.full:
                return [await self._whole_page(url)]
            structure = {"outline": args.outline, "section": args.section, "table": args.table}
            return await self.web(
                {"url": url, "goal": args.goal or "the page's main content", **structure}
            )
        if self.corpus is None:
            raise ToolError(f"read: {doc_id!r} is not a web address and no corpus is searched")
        return await self.corpus(
            {
                "doc_id": doc_id,
                "goal": args.goal,
                "full": args.full,
                "outline": args.outline,
                "section": args.section,
                "table": args.table,
            }
        )
