"""Tools over the local corpus store: `search` finds passages, `read` reads a document for a goal.

Store calls are synchronous SQLite; they run in a worker thread (`asyncio.to_thread`) so the
event loop keeps going while a query runs. Source ids are `"<corpus>:<doc_id>"`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from retriever.corpus_store import CorpusError, CorpusStore
from retriever.hybrid import RRF_K, HybridSearcher
from retriever.structure import DocumentStructure
from retriever.types import Hit
from tools.base import Observation, Tool, ToolError
from tools.structured_read import FULL_TEXT_LIMIT, StructureArgs, structured_read, wants_structure

if TYPE_CHECKING:
    from retriever.vectors import CorpusVectors

__all__ = [
    "CorpusSearchTool",
    "ReadDocumentTool",
    "corpus_source_status",
    "hit_observation",
    "source_id",
]


OPENING_MIN_CHARS = 240
"""A document's opening passage shorter than this (a title and a one-line description) is
shown with the passage after it."""


def source_id(corpus: str, doc_id: str) -> str:
    """The stable, citable id of a corpus document."""
    return f"{corpus}:{doc_id}"


def corpus_source_status(
    store: CorpusStore, source: str, start: int | None, end: int | None, text: str | None
) -> bool | None:
    """`Tool.source_status` for a corpus document cited as `<corpus>:<doc_id>`: None when the
    prefix names no corpus of `store` (another tool's source)."""
    corpus, sep, doc_id = source.partition(":")
    if not sep or not store.has_corpus(corpus):
        return None
    document = store.get_document(corpus, doc_id)
    if document is None:
        return False
    if start is None or end is None or text is None:
        return True
    return document.text[start:end] == text


def hit_observation(hit: Hit) -> Observation:
    return Observation(
        source_id=source_id(hit.corpus, hit.doc_id),
        url=hit.url,
        title=hit.title,
        text=hit.text,
        score=hit.score,
        start=hit.start,
        end=hit.end,
        context=hit.context,
    )


class CorpusSearchArgs(BaseModel):
    query: str = Field(
        description="keywords or a short question; the words are matched (BM25), not the meaning",
        min_length=1,
        max_length=1000,
    )
    k: int = Field(default=5, ge=1, le=20, description="how many passages to return (1-20)")
    offset: int = Field(
        default=0, ge=0, le=2000, description="skip this many results (the next page: offset=k)"
    )
    exact: bool = Field(
        default=False,
        description="only passages that hold the query's words as one phrase, in order "
        "(e.g. an address, a code, a quoted name); ranked by BM25",
    )

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be blank")
        return value.strip()


class CorpusSearchTool(Tool):
    """Keyword search over the local document corpora (offline)."""

    name: ClassVar[str] = "search"
    description: ClassVar[str] = (
        "Search the local offline corpus (by default Wikipedia lead summaries of ~10,000 vital "
        "articles, plus any documents indexed with `wideseek index`) for passages matching "
        "keywords. Ranked by BM25 word overlap with the title and text, so use distinctive "
        "words and names (e.g. 'Belo Horizonte population'), not long sentences. Returns up "
        "to k passages, at most one per document, each with a source_id to cite or to pass to "
        "the `read` tool."
    )
    Args: ClassVar[type[BaseModel]] = CorpusSearchArgs
    examples: ClassVar[list[dict[str, Any]]] = [
        {"query": "Mona Lisa painter", "k": 3},
        {"query": "largest moon of Saturn"},
        {"query": "Treaty of Westphalia 1648", "k": 5},
    ]

    per_document: ClassVar[int] = 3
    """Passages per document each side of a hybrid search offers to the fusion."""

    def __init__(
        self,
        store: CorpusStore,
        corpora: Sequence[str] | None = None,
        default_k: int = 5,
        vectors: CorpusVectors | None = None,
        *,
        weights: tuple[float, float] = (1.0, 1.0),
        rrf_k: int = RRF_K,
        candidates: int = 50,
    ) -> None:
        if not 1 <= default_k <= 20:
            raise ValueError(f"default_k must be in 1..20, got {default_k}")
        self.store = store
        self.corpora = list(corpora) if corpora is not None else None
        self.default_k = default_k
        self.vectors = vectors
        self.hybrid: HybridSearcher | None = None
        if vectors is not None:
            self.hybrid = HybridSearcher(
                self._bm25, self._dense, weights, k=rrf_k, candidates=candidates
            )

    def cache_scope(self) -> str:
        scope = f"{self.store.version(self.corpora)}|opening={OPENING_MIN_CHARS}"
        if self.vectors is not None:
            scope += f"|dense={self.vectors.scope()}"
        return scope

    def source_status(
        self, source_id: str, start: int | None, end: int | None, text: str | None
    ) -> bool | None:
        return corpus_source_status(self.store, source_id, start, end, text)

    def _bm25(self, query: str, n: int) -> list[Hit]:
        return self.store.search(query, n, self.corpora, max_per_document=self.per_document)

    def _dense(self, query: str, n: int) -> list[Hit]:
        assert self.vectors is not None
        return self.vectors.search(query, n, self.corpora, max_per_document=self.per_document)

    def search(self, query: str, k: int, offset: int = 0, exact: bool = False) -> list[Hit]:
        """BM25 alone, or BM25 + dense fused by RRF when vectors exist; one hit per document.
        `offset` skips that many documents (pages through the ranking); `exact` matches the
        query as a phrase (BM25 only: meaning cannot say whether a text holds a phrase)."""
        if exact:
            return self.store.search(query, k + offset, self.corpora, phrase=True)[offset:]
        if offset:
            return self.search(query, k + offset)[offset:]
        if self.hybrid is None or self.vectors is None or len(self.vectors) == 0:
            return self.store.search(query, k, self.corpora)
        fused = self.hybrid.search(query, max(k * self.per_document, self.hybrid.candidates))
        best: list[Hit] = []
        seen: set[tuple[str, str]] = set()
        for hit in fused:  # best first: keep each document's best passage
            key = (hit.corpus, hit.doc_id)
            if key not in seen:
                seen.add(key)
                best.append(hit)
                if len(best) >= k:
                    break
        return best

    def phrase_share(self, phrase: str) -> tuple[int, int]:
        """(documents stating `phrase`, documents searched) over this tool's corpora."""
        return self.store.phrase_share(phrase, self.corpora)

    async def run(self, args: CorpusSearchArgs) -> list[Observation]:
        k = args.k if "k" in args.model_fields_set else self.default_k
        try:
            hits = await asyncio.to_thread(self._found, args.query, k, args.offset, args.exact)
        except CorpusError as error:
            raise ToolError(f"search failed: {error}") from error
        return [hit_observation(hit) for hit in hits]

    def _found(self, query: str, k: int, offset: int, exact: bool) -> list[Hit]:
        """What `search` finds, a document's bare opening (title and description) read on
        into the text after it, so the result states something."""
        hits = self.search(query, k, offset, exact)
        return self.store.with_opening_read_on(hits, OPENING_MIN_CHARS)


class ReadDocumentArgs(StructureArgs):
    doc_id: str = Field(
        description="the source_id of a search result, '<corpus>:<doc_id>' (a bare doc_id "
        "works when only one corpus has it)",
        min_length=1,
    )
    goal: str = Field(
        default="",
        max_length=1000,
        description="what you want to learn from the document; picks the passages to return",
    )
    full: bool = Field(
        default=False,
        description="return the whole document as one passage instead (for checking or "
        f"extracting many fields; at most {FULL_TEXT_LIMIT:,} characters)",
    )

    @field_validator("doc_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("doc_id must not be blank")
        return value.strip()


class ReadDocumentTool(Tool):
    """Read the passages of one corpus document that bear on a goal."""

    name: ClassVar[str] = "read"
    description: ClassVar[str] = (
        "Read one document from the local corpus: give its source_id (from a `search` result) "
        "and your goal, and get back the document's 3 passages most relevant to the goal "
        "(its opening passages if none match), each with its section path. Use it when a "
        "search hit looks right but its passage does not hold the fact you need. Documents "
        "keep their structure: outline=true lists the sections and tables; section='...' "
        "returns one whole section and table='2' (or words of its caption or columns) one "
        "whole table with its header, e.g. to read every row of a listing."
    )
    Args: ClassVar[type[BaseModel]] = ReadDocumentArgs
    examples: ClassVar[list[dict[str, Any]]] = [
        {"doc_id": "wiki-offline:Mona Lisa", "goal": "when it was painted and by whom"},
        {"doc_id": "wiki-offline:Saturn", "goal": "number of moons"},
        {"doc_id": "manual:errors", "outline": True},
        {"doc_id": "manual:errors", "table": "error codes"},
        {"doc_id": "manual:config", "section": "Replication"},
    ]
    passages: ClassVar[int] = 3

    def __init__(self, store: CorpusStore) -> None:
        self.store = store

    def cache_scope(self) -> str:
        return self.store.version()

    async def run(self, args: ReadDocumentArgs) -> list[Observation]:
        try:
            if args.full:
                return [await asyncio.to_thread(self._read_full, args.doc_id)]
            if wants_structure(args):
                return await asyncio.to_thread(self._read_structure, args)
            hits = await asyncio.to_thread(self._read, args.doc_id, args.goal)
        except CorpusError as error:
            raise ToolError(f"cannot read {args.doc_id!r}: {error}") from error
        return [hit_observation(hit) for hit in hits]

    def source_status(
        self, source_id: str, start: int | None, end: int | None, text: str | None
    ) -> bool | None:
        return corpus_source_status(self.store, source_id, start, end, text)

    def _read_full(self, wanted: str) -> Observation:
        corpus, doc_id = self.store.resolve(wanted)
        document = self.store.get_document(corpus, doc_id)
        if document is None:  # removed between resolve and read
            raise ToolError(f"document {wanted!r} is gone from the corpus")
        text = document.text[:FULL_TEXT_LIMIT]
        return Observation(
            source_id=source_id(corpus, doc_id),
            url=document.url,
            title=document.title,
            text=text,
            start=0,
            end=len(text),
        )

    def structure_of(self, wanted: str) -> DocumentStructure | None:
        """The stored structure of a document (None if it has none or is gone): wide research
        reads a document's listings from it."""
        try:
            corpus, doc_id = self.store.resolve(wanted)
            _, structure = self.store.get_structure(corpus, doc_id)
        except CorpusError:
            return None
        return structure

    def _read_structure(self, args: ReadDocumentArgs) -> list[Observation]:
        corpus, doc_id = self.store.resolve(args.doc_id)
        document, structure = self.store.get_structure(corpus, doc_id)
        return structured_read(
            args,
            source_id=source_id(corpus, doc_id),
            url=document.url,
            title=document.title,
            text=document.text,
            structure=structure,
        )

    def _read(self, wanted: str, goal: str) -> list[Hit]:
        corpus, doc_id = self.store.resolve(wanted)
        return self.store.best_passages(corpus, doc_id, goal, k=self.passages)
