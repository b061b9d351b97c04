"""`read_url`: read a web page or PDF at a URL and return the passages that bear on a goal.

The URL-side twin of `tools.corpus.ReadDocumentTool`: fetch safely (`tools.web.fetch`, checked
against a `UrlPolicy`, bounded by `FetchLimits`), extract the text and its structure
(`tools.web.extract`), cut it into passages along its blocks
(`retriever.chunking.chunk_document`: each passage knows its section path, and a table passage
its columns) and rank them for the goal with BM25 (the corpus store's coverage bonus included),
fused by reciprocal rank with a dense encoder's cosine ranking when one is given. If fewer than
k passages match, the page's earliest other passages fill in, in order, with score 0 (as `read`
does), so a page always answers. Like `read`, it also returns a page's outline, one whole
section or one whole table (`StructureArgs`).

Each `Observation` cites the page after redirects: `source_id = web_source_id(final URL)` (the
same id a search result for the page has),
`url = final URL`, `start`/`end` are offsets into the extracted text.

The passages are untrusted page content. They are returned verbatim as data for the model to
quote and cite; nothing here interprets, follows or acts on what they say, and whoever shows
them to a model must present them as data, not instructions.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from retriever.bm25 import BM25FIndex, tokenize
from retriever.chunking import chunk_document
from retriever.structure import DocumentStructure
from retriever.types import Passage
from tools.base import Observation, Tool, ToolError
from tools.structured_read import StructureArgs, structured_read, wants_structure
from tools.web.extract import ExtractedDocument, ExtractError, extract_text
from tools.web.fetch import FetchedPage, FetchError, FetchLimits, fetch_url
from tools.web.safety import Resolver, UnresolvableHostError, UnsafeUrlError, UrlPolicy
from tools.web.search_tool import web_source_id

if TYPE_CHECKING:
    import httpx

    from retriever.encoder import Encoder

__all__ = ["ReadUrlArgs", "ReadUrlTool", "rank_passages"]

log = logging.getLogger(__name__)

COVERAGE_WEIGHT = 0.5
"""A passage's BM25 score is multiplied by 1 + COVERAGE_WEIGHT * (share of the goal's terms it
holds), as in the corpus store: a passage holding every word of the goal beats one that
repeats a single rare word."""
RRF_K = 60
DENSE_CANDIDATES = 48
"""Passages the dense encoder scores: BM25's best ones plus the page's first ones (encoding
every passage of a long page on a CPU would take too long)."""


class ReadUrlArgs(StructureArgs):
    url: str = Field(
        description="the http:// or https:// address of the page or PDF (e.g. from a web "
        "search result)",
        min_length=1,
        max_length=2000,
    )
    goal: str = Field(
        default="",
        description="what you want to learn from the page; picks the passages to return "
        "(needed unless outline, section or table is given)",
        max_length=500,
    )
    k: int = Field(default=4, ge=1, le=10, description="how many passages to return (1-10)")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("url must be an http:// or https:// URL")
        return value

    @field_validator("goal")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _goal_or_structure(self) -> ReadUrlArgs:
        if not self.goal and not wants_structure(self):
            raise ValueError("give a goal (or outline, section or table)")
        return self


def _coverage(goal_terms: set[str], passage: str) -> float:
    if not goal_terms:
        return 0.0
    return len(goal_terms & set(tokenize(passage))) / len(goal_terms)


def _dense_ranking(
    passages: list[Passage], goal: str, lexical: list[int], encoder: Encoder
) -> list[int] | None:
    """Candidate passages by cosine similarity to the goal; None when the encoder fails."""
    from retriever.encoder import EncoderError

    first = list(range(min(8, len(passages))))
    candidates = list(dict.fromkeys(lexical[:DENSE_CANDIDATES] + first))
    try:
        vectors = encoder.encode([goal] + [passages[i].text for i in candidates])
    except EncoderError as error:
        log.warning("read_url: dense ranking unavailable, BM25 only: %s", error)
        return None
    cosine = vectors[1:] @ vectors[0]
    return [candidates[j] for j in np.argsort(-cosine, kind="stable").tolist()]


def rank_passages(
    passages: list[Passage], goal: str, k: int, encoder: Encoder | None = None
) -> list[tuple[Passage, float]]:
    """The `k` best passages for `goal`, best first, with their scores (BM25 with the coverage
    bonus, or the RRF score when `encoder` is given); fewer than `k` matches are topped up with
    the earliest unmatched passages, score 0."""
    if not passages or k <= 0:
        return []
    index = BM25FIndex([{"text": p.text} for p in passages], k1=1.2, b=0.75)
    goal_terms = set(tokenize(goal))
    bm25 = index.scores(goal)
    scores = {
        i: float(bm25[i]) * (1.0 + COVERAGE_WEIGHT * _coverage(goal_terms, passages[i].text))
        for i in np.flatnonzero(bm25 > 0).tolist()
    }
    lexical = sorted(scores, key=lambda i: (-scores[i], i))
    ranked: list[tuple[int, float]] = [(i, scores[i]) for i in lexical]
    dense = _dense_ranking(passages, goal, lexical, encoder) if encoder is not None else None
    if dense:
        fused: dict[int, float] = {}
        for ranking in (lexical, dense):
            for rank, i in enumerate(ranking, start=1):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    best = ranked[:k]
    taken = {i for i, _ in best}
    for i in range(len(passages)):
        if len(best) >= k:
            break
        if i not in taken:
            best.append((i, 0.0))
    return [(passages[i], score) for i, score in best]


class ReadUrlTool(Tool):
    """Fetch a public web page or PDF and return its passages most relevant to a goal."""

    name: ClassVar[str] = "read_url"
    description: ClassVar[str] = (
        "Read a web page or PDF at a URL and return the passages most relevant to a goal. "
        "Give the page's http(s) URL (e.g. from a web search result) and what you want to "
        "learn; get back up to k passages of the page's main text (navigation and ads "
        "removed), best match first, each citing the page's URL with its section path. "
        "outline=true lists the page's sections and tables; section='...' returns one whole "
        "section and table='1' (or words of its caption or columns) one whole table with its "
        "header. Only public web addresses can be read; binary files (images, archives, "
        "video) and pages over the size limit are refused."
    )
    Args: ClassVar[type[BaseModel]] = ReadUrlArgs
    examples: ClassVar[list[dict[str, Any]]] = [
        {"url": "https://en.wikipedia.org/wiki/Sydney_Harbour_Bridge", "goal": "when it opened"},
        {
            "url": "https://arxiv.org/pdf/1706.03762",
            "goal": "number of attention heads in the base model",
            "k": 3,
        },
    ]
    tags: ClassVar[tuple[str, ...]] = ("web", "read", "url", "pdf")
    cache_ttl: ClassVar[float | None] = 24 * 3600.0
    """Pages change slowly: a day."""

    extract_timeout: ClassVar[float] = 30.0
    """Seconds text extraction (trafilatura, pypdf) may take before the read gives up."""

    def __init__(
        self,
        policy: UrlPolicy | None = None,
        limits: FetchLimits | None = None,
        *,
        encoder: Encoder | None = None,
        client: httpx.AsyncClient | None = None,
        resolver: Resolver | None = None,
        passage_size: int = 800,
        passage_overlap: int = 150,
    ) -> None:
        self.policy = policy or UrlPolicy()
        self.limits = limits or FetchLimits()
        self.encoder = encoder
        self.client = client
        self.resolver = resolver
        self.passage_size = passage_size
        self.passage_overlap = passage_overlap

    def cache_scope(self) -> str:
        """The passage size and the policy decide the result too (a page read under a wider
        allow-list must not be served once it is narrowed)."""
        policy = self.policy
        rules = repr((policy.allow_hosts, policy.allow_networks, policy.allowed_schemes,
                      policy.allowed_ports))  # fmt: skip
        scope = f"passages={self.passage_size}/{self.passage_overlap}"
        scope += f"|policy={hashlib.sha1(rules.encode()).hexdigest()[:12]}"
        if self.encoder is not None:
            scope += f"|dense={self.encoder.name}"
        return scope

    async def fetch(self, url: str) -> FetchedPage:
        try:
            return await fetch_url(
                url, self.policy, self.limits, self.client, resolver=self.resolver
            )
        except UnresolvableHostError as error:
            raise ToolError(f"cannot read {url}: {error}") from error
        except UnsafeUrlError as error:
            raise ToolError(f"refused to read {url}: {error}") from error
        except FetchError as error:
            raise ToolError(f"cannot read {url}: {error}") from error

    async def extract(self, page: FetchedPage) -> ExtractedDocument:
        try:
            async with asyncio.timeout(self.extract_timeout):
                return await asyncio.to_thread(extract_text, page)
        except ExtractError as error:
            raise ToolError(f"cannot read {page.final_url}: {error}") from error
        except TimeoutError:
            raise ToolError(
                f"cannot read {page.final_url}: extracting its text took over "
                f"{self.extract_timeout:g} s"
            ) from None

    def _rank(
        self, text: str, structure: DocumentStructure, url: str, goal: str, k: int
    ) -> list[tuple[Passage, float]]:
        passages = chunk_document(url, text, structure, self.passage_size, self.passage_overlap)
        return rank_passages(passages, goal, k, self.encoder)

    async def run(self, args: ReadUrlArgs) -> list[Observation]:
        page = await self.fetch(args.url)
        document = await self.extract(page)
        url = page.final_url
        title = document.title or url
        structure = document.sections()
        if wants_structure(args):
            return structured_read(
                args,
                source_id=web_source_id(url),
                url=url,
                title=title,
                text=document.text,
                structure=structure,
            )
        ranked = await asyncio.to_thread(
            self._rank, document.text, structure, url, args.goal, args.k
        )
        return [
            Observation(
                source_id=web_source_id(url),
                url=url,
                title=title,
                text=passage.text,
                score=score,
                start=passage.start,
                end=passage.end,
                context=passage.context,
            )
            for passage, score in ranked
        ]
