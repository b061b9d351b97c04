"""Retries (429 + Retry-After, 5xx, timeouts, refused connections), the Retry-After cap, the
token bucket and the concurrency cap, against the fake APIs on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.tools.web.fake_backends import Answer, FakeSearch, backend_settings, serve
from tests.tools.web.fake_backends import client as new_client
from tools.web import BackendError, SearchBackend, SearchRequest, TokenBucket, build_backend
from tools.web.limits import BackendLimits


@pytest.fixture
def fake() -> Iterator[FakeSearch]:
    yield from serve()


def backend(fake: FakeSearch, kind: str, **overrides: Any) -> SearchBackend:
    return build_backend(backend_settings(fake, kind, **overrides))


async def search(
    b: SearchBackend, query: str = "alpha", client: httpx.AsyncClient | None = None
) -> list[Any]:
    if client is not None:
        return await b.search(SearchRequest(query=query), client)
    async with new_client() as own:
        return await b.search(SearchRequest(query=query), own)


async def test_429_is_retried_after_retry_after(fake: FakeSearch) -> None:
    b = backend(fake, "brave", max_retries=2, backoff=0.01)
    fake.plan["brave"] = [
        Answer(status=429, body={"error": {"detail": "Rate limit exceeded"}},
               headers={"Retry-After": "1"}),
    ]  # fmt: skip
    results = await search(b)
    assert len(results) == 3
    first, second = fake.seen("brave")
    assert second.at - first.at >= 0.95  # the server's Retry-After, not the 0.01 s backoff
    assert second.at - first.at < 3.0


async def test_5xx_gives_up_after_max_retries(fake: FakeSearch) -> None:
    b = backend(fake, "tavily", max_retries=2, backoff=0.01)
    fake.down.add("tavily")
    with pytest.raises(BackendError) as info:
        await search(b)
    assert len(fake.seen("tavily")) == 3
    message = str(info.value)
    assert message.startswith("web backend 'tavily': POST ")
    assert "/tavily/search failed after 3 attempt(s): HTTP 500: service down" in message


async def test_5xx_then_success(fake: FakeSearch) -> None:
    b = backend(fake, "serper", max_retries=3, backoff=0.01)
    fake.plan["serper"] = [Answer(status=503, body={"message": "busy"}), Answer(status=502)]
    assert len(await search(b)) == 3
    assert len(fake.seen("serper")) == 3


async def test_retry_after_beyond_the_cap_gives_up_at_once(fake: FakeSearch) -> None:
    b = backend(fake, "brave", max_retries=5, max_backoff=2.0)
    fake.plan["brave"] = [
        Answer(status=429, body={"error": {"detail": "Quota exceeded"}},
               headers={"Retry-After": "3600"}),
    ]  # fmt: skip
    started = time.monotonic()
    with pytest.raises(BackendError) as info:
        await search(b)
    assert time.monotonic() - started < 1.0
    assert len(fake.seen("brave")) == 1
    assert "HTTP 429: Quota exceeded" in str(info.value)
    assert "asks to wait 3600 s (Retry-After), more than the 2 s cap" in str(info.value)


async def test_timeout(fake: FakeSearch) -> None:
    b = backend(fake, "searxng", timeout=0.2, max_retries=1)
    fake.delay["searxng"] = 2.0
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"failed after 2 attempt\(s\): timed out after 0.2 s"):
        await search(b)
    assert time.monotonic() - started < 1.5
    assert len(fake.seen("searxng")) == 2


async def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    b = build_backend(
        {
            "kind": "serper",
            "api_key": "k-123",
            "base_url": f"http://127.0.0.1:{port}",
            "max_retries": 1,
            "backoff": 0.01,
        }
    )
    with pytest.raises(BackendError, match=r"after 2 attempt\(s\): connection failed \(Connect"):
        await search(b)


async def test_non_retryable_status_fails_at_once(fake: FakeSearch) -> None:
    b = backend(fake, "serper", max_retries=3)
    fake.plan["serper"] = [Answer(status=400, body={"message": "Query not allowed"})]
    with pytest.raises(BackendError, match=r"POST .*/serper/search: HTTP 400: Query not allowed"):
        await search(b)
    assert len(fake.seen("serper")) == 1


async def test_rate_limit_spaces_requests(fake: FakeSearch) -> None:
    b = backend(fake, "brave", requests_per_second=10.0)
    async with new_client() as client:
        await search(b, "warm-up", client)  # connection set up; the bucket is empty now
        started = time.monotonic()
        await asyncio.gather(*(search(b, f"q{i}", client) for i in range(5)))
        elapsed = time.monotonic() - started
    assert elapsed >= 0.45  # one token every 0.1 s
    assert elapsed < 1.5
    times = sorted(seen.at for seen in fake.seen("brave"))
    assert times[-1] - times[0] >= 0.48


async def test_concurrency_cap_seen_by_the_server(fake: FakeSearch) -> None:
    b = backend(fake, "tavily", max_concurrent=2)
    fake.delay["tavily"] = 0.15
    async with new_client() as client:
        await asyncio.gather(*(search(b, f"q{i}", client) for i in range(6)))
        assert len(fake.seen("tavily")) == 6
        assert fake.max_in_flight["tavily"] == 2

        wider = backend(fake, "serper", max_concurrent=6)
        fake.delay["serper"] = 0.15
        await asyncio.gather(*(search(wider, f"q{i}", client) for i in range(6)))
        assert fake.max_in_flight["serper"] > 2


def test_limits_survive_a_new_event_loop(fake: FakeSearch) -> None:
    b = backend(fake, "brave", requests_per_second=50.0, max_concurrent=1)

    async def twice() -> None:
        await asyncio.gather(search(b), search(b))

    asyncio.run(twice())
    asyncio.run(twice())  # primitives bound to the first loop would raise here
    assert len(fake.seen("brave")) == 4


async def test_token_bucket_with_a_fake_clock() -> None:
    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        now[0] += seconds

    bucket = TokenBucket(4.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        await bucket.acquire()
    assert waits == [0.25, 0.25]  # two from the burst, then one every 1/4 s
    now[0] += 10.0  # idle: the bucket refills to its burst, no more
    for _ in range(3):
        await bucket.acquire()
    assert waits == [0.25, 0.25, 0.25]
    unlimited = TokenBucket(None, clock=lambda: now[0], sleep=sleep)
    await unlimited.acquire()
    assert len(waits) == 3
    with pytest.raises(ValueError):
        TokenBucket(0.0)
    with pytest.raises(ValueError):
        BackendLimits(1.0, 0)
