"""Several web search backends as one: run concurrently, merge by reciprocal-rank fusion,
de-duplicate by normalised URL, report (not raise) backend failures, cache per backend.

Caching is per backend and request, in the knowledge cache's tool-result table (any object
with `get_tool_result` / `put_tool_result`, e.g. `memory.KnowledgeCache`), under the tool name
``web:<backend>``: a search where one backend failed still caches the others' answers, and the
failed backend is asked again next time (failures are never cached).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import ValidationError

from tools.web.backends import BackendSettings, SearchBackend, build_backend
from tools.web.results import (
    BackendError,
    BackendFailure,
    SearchRequest,
    WebResult,
    normalise_url,
    strip_tracking,
)

__all__ = [
    "DEFAULT_TTL_S",
    "RRF_K",
    "MultiSearch",
    "SearchCache",
    "SearchOutcome",
    "fuse",
]

logger = logging.getLogger(__name__)

DEFAULT_TTL_S = 6 * 3600.0
RRF_K = 60
"""The reciprocal-rank-fusion constant (as in `retriever.hybrid`): score = sum 1 / (K + rank)."""


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying SSL context for every search's client (loading the CA bundle is the
    slow part of making an `httpx.AsyncClient`)."""
    return httpx.create_ssl_context()


class SearchCache(Protocol):
    """The part of `memory.KnowledgeCache` that caching needs."""

    def get_tool_result(
        self, tool: str, arguments: Mapping[str, Any]
    ) -> list[dict[str, Any]] | None: ...

    def put_tool_result(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        result: list[dict[str, Any]],
        ttl: float | None = None,
    ) -> object: ...


@dataclass
class SearchOutcome:
    """Merged results (best first, at most k) and the backends that failed."""

    results: list[WebResult] = field(default_factory=list)
    failures: list[BackendFailure] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    """Backends answered from the cache."""
    queried: int = 0
    """How many backends were asked (from the cache or over HTTP)."""

    @property
    def all_failed(self) -> bool:
        return self.queried > 0 and len(self.failures) == self.queried


def _better_snippet(current: str, candidate: str) -> bool:
    return len(candidate) > len(current)


def fuse(ranked: Iterable[Sequence[WebResult]], k: int, rrf_k: int = RRF_K) -> list[WebResult]:
    """Reciprocal-rank fusion of per-backend ranked lists, de-duplicated by normalised URL.
    A merged result keeps the best-ranked title and URL (tracking parameters removed), the
    longest snippet, the earliest known publication date, and every backend that found it."""
    merged: dict[str, WebResult] = {}
    scores: dict[str, float] = {}
    best_rank: dict[str, int] = {}
    order: dict[str, int] = {}
    for results in ranked:
        seen: set[str] = set()
        for result in results:
            key = normalise_url(result.url)
            if key in seen:  # the same page twice from one backend: its first rank counts
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + 1.0 / (rrf_k + result.rank)
            current = merged.get(key)
            if current is None:
                order[key] = len(order)
                best_rank[key] = result.rank
                merged[key] = result.model_copy(
                    update={"url": strip_tracking(result.url), "backends": [result.backend]}
                )
                continue
            update: dict[str, Any] = {"backends": [*current.backends, result.backend]}
            if result.rank < best_rank[key]:
                best_rank[key] = result.rank
                update |= {
                    "url": strip_tracking(result.url),
                    "title": result.title or current.title,
                    "backend": result.backend,
                }
            elif not current.title and result.title:
                update["title"] = result.title
            if _better_snippet(current.snippet, result.snippet):
                update["snippet"] = result.snippet
            if result.published is not None and (
                current.published is None or result.published < current.published
            ):
                update["published"] = result.published
            merged[key] = current.model_copy(update=update)
    keys = sorted(merged, key=lambda key: (-scores[key], best_rank[key], order[key]))
    return [
        merged[key].model_copy(update={"rank": rank, "score": round(scores[key], 6)})
        for rank, key in enumerate(keys[:k], start=1)
    ]


class MultiSearch:
    """Runs `backends` concurrently for each request. `cache` (optional) holds each backend's
    successful results for `ttl` seconds. `client`: a shared `httpx.AsyncClient` (else one is
    made for each search)."""

    def __init__(
        self,
        backends: Sequence[SearchBackend],
        cache: SearchCache | None = None,
        ttl: float = DEFAULT_TTL_S,
        *,
        client: httpx.AsyncClient | None = None,
        rrf_k: int = RRF_K,
    ) -> None:
        names = [backend.name for backend in backends]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"web backend names must be unique; repeated: {duplicates}")
        if ttl < 0:
            raise ValueError("ttl must be >= 0")
        self.backends = list(backends)
        self.cache = cache
        self.ttl = ttl
        self.rrf_k = rrf_k
        self._client = client

    @classmethod
    def from_settings(
        cls,
        settings: Iterable[BackendSettings | Mapping[str, Any]],
        cache: SearchCache | None = None,
        ttl: float = DEFAULT_TTL_S,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> MultiSearch:
        return cls([build_backend(item, environ=environ) for item in settings], cache, ttl)

    def __repr__(self) -> str:
        return f"MultiSearch({[backend.name for backend in self.backends]!r}, ttl={self.ttl:g})"

    @staticmethod
    def tool_name(backend: SearchBackend) -> str:
        return f"web:{backend.name}"

    def _cache_arguments(self, backend: SearchBackend, request: SearchRequest) -> dict[str, Any]:
        return {"request": request.cache_arguments(), "scope": backend.cache_scope()}

    async def _cached(
        self, backend: SearchBackend, request: SearchRequest
    ) -> list[WebResult] | None:
        if self.cache is None or self.ttl == 0:
            return None
        cache = self.cache
        try:
            rows = await asyncio.to_thread(
                cache.get_tool_result,
                self.tool_name(backend),
                self._cache_arguments(backend, request),
            )
        except Exception as error:
            logger.warning(
                "web %s: cache lookup failed: %s", backend.name, backend.mask(str(error))
            )
            return None
        if rows is None:
            return None
        try:
            return [WebResult.model_validate(row) for row in rows]
        except ValidationError:
            logger.warning("web %s: ignoring an unreadable cache entry", backend.name)
            return None

    async def _store(
        self, backend: SearchBackend, request: SearchRequest, results: list[WebResult]
    ) -> None:
        if self.cache is None or self.ttl == 0:
            return
        rows = [result.model_dump(mode="json") for result in results]
        try:
            await asyncio.to_thread(
                self.cache.put_tool_result,
                self.tool_name(backend),
                self._cache_arguments(backend, request),
                rows,
                self.ttl,
            )
        except Exception as error:
            logger.warning("web %s: cache write failed: %s", backend.name, backend.mask(str(error)))

    async def _one(
        self, backend: SearchBackend, request: SearchRequest, client: httpx.AsyncClient
    ) -> tuple[list[WebResult], BackendFailure | None, bool]:
        cached = await self._cached(backend, request)
        if cached is not None:
            return cached, None, True
        try:
            results = await backend.search(request, client)
        except BackendError as error:
            reason = backend.mask(error.reason, 500)
        except Exception as error:  # a bug or an unforeseen reply must not sink the others
            reason = backend.mask(f"{type(error).__name__}: {error}", 500)
        else:
            await self._store(backend, request, results)
            return results, None, False
        logger.warning("web search: backend %r failed: %s", backend.name, reason)
        return [], BackendFailure(backend.name, reason), False

    async def search(self, request: SearchRequest) -> SearchOutcome:
        """Every backend's answer, merged. Never raises for backend failures: they come back
        in `failures` (all backends failed: no results, every failure listed)."""
        if not self.backends:
            return SearchOutcome()
        if self._client is not None:
            return await self._search(request, self._client)
        # A client per search: nothing outlives the event loop it ran on (the agent may run
        # each question in its own `asyncio.run`). No redirects: a key in a custom header must
        # not follow one to another host.
        async with httpx.AsyncClient(verify=_ssl_context(), follow_redirects=False) as client:
            return await self._search(request, client)

    async def _search(self, request: SearchRequest, client: httpx.AsyncClient) -> SearchOutcome:
        answers = await asyncio.gather(
            *(self._one(backend, request, client) for backend in self.backends)
        )
        return SearchOutcome(
            results=fuse([results for results, _, _ in answers], request.k, self.rrf_k),
            failures=[failure for _, failure, _ in answers if failure is not None],
            cached=[b.name for b, (_, _, hit) in zip(self.backends, answers, strict=True) if hit],
            queried=len(self.backends),
        )
