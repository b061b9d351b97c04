from __future__ import annotations

import httpx

from retriever.http_client import backoff_delay, retry_after_seconds


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    for attempt in range(4):
        delay = backoff_delay(attempt, 0.5, 30.0)
        assert 0.25 * 2**attempt <= delay <= 0.5 * 2**attempt
    assert backoff_delay(0, 0.5, 30.0, retry_after=3.0) == 3.0
    assert backoff_delay(10, 0.5, 4.0) == 4.0


def test_retry_after_header_forms() -> None:
    def parse(value: str | None) -> float | None:
        headers = {"retry-after": value} if value is not None else {}
        return retry_after_seconds(httpx.Response(429, headers=headers))

    assert parse("2.5") == 2.5
    assert parse(None) is None
    assert parse("soon") is None
    assert parse("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
