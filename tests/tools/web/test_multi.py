"""MultiSearch: concurrent backends, reciprocal-rank fusion, URL de-duplication, failures
reported (not raised), per-backend caching in a real `memory.KnowledgeCache`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from memory import KnowledgeCache
from tests.tools.web.fake_backends import KINDS, Answer, FakeSearch, backend_settings, serve
from tests.tools.web.fake_backends import client as new_client
from tools.web import (
    BackendError,
    BackendFailure,
    MultiSearch,
    SearchBackend,
    SearchRequest,
    WebResult,
    build_backend,
    normalise_url,
)
from tools.web.multi import fuse


@pytest.fixture
def fake() -> Iterator[FakeSearch]:
    yield from serve()


def backends(fake: FakeSearch, kinds: tuple[str, ...] = KINDS, **overrides: Any) -> list[Any]:
    return [build_backend(backend_settings(fake, kind, **overrides)) for kind in kinds]


def result(url: str, backend: str, rank: int, **fields: Any) -> WebResult:
    return WebResult(url=url, backend=backend, rank=rank, **fields)


# -- URLs and fusion -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.Example.org/Page/", "http://example.org/Page"),
        ("HTTPS://EXAMPLE.ORG:443/a#section-2", "https://example.org/a"),
        (
            "https://example.org/a?utm_source=x&id=7&utm_medium=y&gclid=1",
            "https://example.org/a?id=7",
        ),
        ("https://example.org/a?fbclid=abc&b=2&a=1", "https://example.org/a?a=1&b=2"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org//docs//x/", "https://example.org/docs/x"),
    ],
)
def test_normalise_url_same_page(a: str, b: str) -> None:
    assert normalise_url(a) == normalise_url(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.org/Page", "https://example.org/page"),  # paths are case-sensitive
        ("https://example.org/a?id=1", "https://example.org/a?id=2"),
        ("https://example.org:8080/a", "https://example.org/a"),
        ("https://sub.example.org/a", "https://example.org/a"),
    ],
)
def test_normalise_url_different_pages(a: str, b: str) -> None:
    assert normalise_url(a) != normalise_url(b)


def test_fuse_merges_duplicates_and_ranks_by_rrf() -> None:
    brave = [
        result("https://solo.example/one", "brave", 1, title="Solo"),
        result("https://www.shared.example/x/?utm_source=brave", "brave", 2, title="Shared B",
               snippet="short", published=date(2024, 5, 1)),
        result("https://shared.example/x#again", "brave", 3, title="dup within brave"),
    ]  # fmt: skip
    tavily = [
        result("https://shared.example/x", "tavily", 1, title="Shared T",
               snippet="a much longer and better snippet", published=date(2024, 4, 2)),
        result("https://other.example/", "tavily", 2, title="Other"),
    ]  # fmt: skip
    merged = fuse([brave, tavily], k=10)
    assert [r.title for r in merged] == ["Shared T", "Solo", "Other"]
    shared = merged[0]
    assert shared.url == "https://shared.example/x"  # the best-ranked copy's URL
    assert shared.snippet == "a much longer and better snippet"
    assert shared.published == date(2024, 4, 2)  # the earliest known date
    assert shared.backends == ["brave", "tavily"] and shared.backend == "tavily"
    assert shared.score == pytest.approx(1 / 62 + 1 / 61, abs=1e-6)
    assert [r.rank for r in merged] == [1, 2, 3]
    assert merged[1].score == pytest.approx(1 / 61, abs=1e-6)
    assert fuse([brave, tavily], k=2) == merged[:2]
    # tracking parameters are dropped from a URL kept as shown
    only = fuse([[result("https://x.example/a?utm_source=s&id=1", "brave", 1)]], k=5)
    assert only[0].url == "https://x.example/a?id=1"


# -- live merging over HTTP ------------------------------------------------------------------


async def test_all_backends_merge_and_dedup(fake: FakeSearch) -> None:
    fake.pages["tavily"] = [
        {"title": "Alpha (Tavily)", "url": "https://example.org/alpha?utm_campaign=t",
         "snippet": "Alpha is the first letter of the Greek alphabet.", "published": "2024-03-01"},
        {"title": "Only Tavily", "url": "https://tavily-only.example/", "snippet": "t",
         "published": None},
    ]  # fmt: skip
    multi = MultiSearch(backends(fake))
    outcome = await multi.search(SearchRequest(query="alpha", k=10))
    assert outcome.failures == [] and outcome.cached == [] and not outcome.all_failed
    assert {len(fake.seen(kind)) for kind in KINDS} == {1}
    urls = [normalise_url(r.url) for r in outcome.results]
    assert len(urls) == len(set(urls)) == 4
    alpha = outcome.results[0]
    assert normalise_url(alpha.url) == "https://example.org/alpha"
    assert sorted(alpha.backends) == sorted(KINDS)
    assert alpha.snippet == "Alpha is the first letter of the Greek alphabet."
    assert alpha.published == date(2024, 3, 1)
    assert outcome.results[-1].title == "Only Tavily"  # found by one backend, ranked 2nd there


async def test_one_backend_down_others_still_answer(
    fake: FakeSearch, caplog: pytest.LogCaptureFixture
) -> None:
    fake.down.add("brave")
    multi = MultiSearch(backends(fake, ("brave", "serper", "tavily")))
    with caplog.at_level(logging.WARNING, logger="tools.web.multi"):
        outcome = await multi.search(SearchRequest(query="alpha"))
    assert len(outcome.results) == 3
    assert all("brave" not in r.backends for r in outcome.results)
    assert [f.backend for f in outcome.failures] == ["brave"]
    (failure,) = outcome.failures
    assert "HTTP 500: service down" in failure.reason
    assert not outcome.all_failed
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("backend 'brave' failed" in w and "HTTP 500" in w for w in warnings)


async def test_all_backends_failing_returns_failures(fake: FakeSearch) -> None:
    fake.down.update(KINDS)
    fake.plan["searxng"] = [Answer(raw=b"not json")]
    multi = MultiSearch(backends(fake))
    outcome = await multi.search(SearchRequest(query="alpha"))
    assert outcome.results == [] and outcome.all_failed
    assert sorted(f.backend for f in outcome.failures) == sorted(KINDS)
    reasons = {f.backend: f.reason for f in outcome.failures}
    assert "not JSON" in reasons["searxng"]


class Broken(SearchBackend):
    """A backend with a bug: its search raises something that is not a BackendError."""

    kind = "broken"

    def prepare(self, request: SearchRequest, page: int = 1) -> Any:
        raise KeyError("oops")

    def auth_headers(self) -> dict[str, str]:
        return {}

    def items(self, data: dict[str, Any]) -> list[Any]:
        return []

    def parse_item(self, item: dict[str, Any]) -> WebResult | None:
        return None


async def test_unexpected_exception_becomes_a_failure(fake: FakeSearch) -> None:
    from tools.web import SearxNGSettings

    broken = Broken(SearxNGSettings(name="broken", base_url="http://127.0.0.1:9"))
    multi = MultiSearch([broken, *backends(fake, ("serper",))])
    outcome = await multi.search(SearchRequest(query="alpha"))
    assert outcome.failures == [BackendFailure("broken", "KeyError: 'oops'")]
    assert len(outcome.results) == 3


def test_backend_names_must_be_unique(fake: FakeSearch) -> None:
    with pytest.raises(ValueError, match="repeated: \\['brave'\\]"):
        MultiSearch(backends(fake, ("brave", "brave")))
    named = [
        build_backend(backend_settings(fake, "searxng", name="sx-a")),
        build_backend(backend_settings(fake, "searxng", name="sx-b")),
    ]
    assert [b.name for b in MultiSearch(named).backends] == ["sx-a", "sx-b"]


async def test_shared_client_is_used(fake: FakeSearch) -> None:
    async with new_client() as client:
        multi = MultiSearch(backends(fake, ("brave",)), client=client)
        outcome = await multi.search(SearchRequest(query="alpha"))
        assert len(outcome.results) == 3 and not client.is_closed


def test_searches_in_separate_event_loops(fake: FakeSearch) -> None:
    import asyncio

    multi = MultiSearch(backends(fake, ("brave", "serper")))

    async def twice() -> None:
        await multi.search(SearchRequest(query="alpha"))
        await multi.search(SearchRequest(query="beta"))

    asyncio.run(twice())
    asyncio.run(twice())  # nothing bound to the first loop is reused
    assert len(fake.requests) == 8


# -- caching ---------------------------------------------------------------------------------


async def test_cache_hit_makes_no_request(fake: FakeSearch, tmp_path: Path) -> None:
    cache = KnowledgeCache(tmp_path / "knowledge.sqlite")
    multi = MultiSearch(backends(fake, ("brave", "tavily")), cache=cache)
    request = SearchRequest(query="alpha", k=5, recency="week")
    first = await multi.search(request)
    assert len(fake.requests) == 2
    second = await multi.search(SearchRequest(query="alpha ", k=5, recency="week"))
    assert len(fake.requests) == 2  # both answered from the cache
    assert second.cached == ["brave", "tavily"]
    assert second.results == first.results
    await multi.search(SearchRequest(query="alpha", k=5, recency="month"))
    assert len(fake.requests) == 4  # another request: asked again
    cached = cache.get_tool_result("web:brave", multi._cache_arguments(multi.backends[0], request))
    assert cached is not None and cached[0]["backend"] == "brave"
    # a new MultiSearch over the same cache file: still no request
    again = MultiSearch(backends(fake, ("brave", "tavily")), cache=KnowledgeCache(cache.path))
    await again.search(request)
    assert len(fake.requests) == 4
    cache.close()


async def test_cache_expires(fake: FakeSearch, tmp_path: Path) -> None:
    with KnowledgeCache(tmp_path / "knowledge.sqlite") as cache:
        multi = MultiSearch(backends(fake, ("serper",)), cache=cache, ttl=0.3)
        request = SearchRequest(query="alpha")
        await multi.search(request)
        await multi.search(request)
        assert len(fake.requests) == 1
        time.sleep(0.35)
        outcome = await multi.search(request)
        assert len(fake.requests) == 2 and outcome.cached == []


async def test_failures_are_not_cached(fake: FakeSearch, tmp_path: Path) -> None:
    with KnowledgeCache(tmp_path / "knowledge.sqlite") as cache:
        multi = MultiSearch(backends(fake, ("brave", "serper")), cache=cache)
        request = SearchRequest(query="alpha")
        fake.plan["brave"] = [Answer(status=503, body={"error": {"detail": "maintenance"}})]
        first = await multi.search(request)
        assert [f.backend for f in first.failures] == ["brave"]
        second = await multi.search(request)
        assert second.failures == [] and second.cached == ["serper"]
        assert sorted(s.kind for s in fake.requests) == ["brave", "brave", "serper"]
        assert {"brave", "serper"} <= {b for r in second.results for b in r.backends}
        third = await multi.search(request)
        assert third.cached == ["brave", "serper"] and len(fake.requests) == 3


async def test_ttl_zero_disables_caching(fake: FakeSearch, tmp_path: Path) -> None:
    with KnowledgeCache(tmp_path / "knowledge.sqlite") as cache:
        multi = MultiSearch(backends(fake, ("brave",)), cache=cache, ttl=0)
        await multi.search(SearchRequest(query="alpha"))
        await multi.search(SearchRequest(query="alpha"))
        assert len(fake.requests) == 2


class ExplodingCache:
    def get_tool_result(self, tool: str, arguments: Any) -> list[dict[str, Any]] | None:
        raise OSError("disk on fire")

    def put_tool_result(
        self, tool: str, arguments: Any, result: list[dict[str, Any]], ttl: float | None = None
    ) -> object:
        raise OSError("disk still on fire")


async def test_a_broken_cache_does_not_break_search(
    fake: FakeSearch, caplog: pytest.LogCaptureFixture
) -> None:
    multi = MultiSearch(backends(fake, ("brave",)), cache=ExplodingCache())
    with caplog.at_level(logging.WARNING, logger="tools.web.multi"):
        outcome = await multi.search(SearchRequest(query="alpha"))
    assert len(outcome.results) == 3 and outcome.failures == []
    assert any("cache lookup failed: disk on fire" in r.getMessage() for r in caplog.records)


def test_backend_error_carries_the_name() -> None:
    error = BackendError("brave", "boom")
    assert (error.backend, error.reason, str(error)) == (
        "brave",
        "boom",
        "web backend 'brave': boom",
    )
