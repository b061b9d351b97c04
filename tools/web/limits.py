"""How hard one web backend may be pushed: a token bucket (requests per second), a cap on
requests in flight (a semaphore), and the retry loop around each HTTP request.

Retries: 429, 408 and 5xx answers, timeouts and transport errors, with jittered exponential
backoff (`retriever.http_client.backoff_delay`) that honours `Retry-After`. A server asking
for a longer wait than `max_backoff` is not waited for: the call gives up at once with a
clear error (a quota reset an hour away is no reason to hang a research run). Every error
message is one line, names the backend and has the API key blanked.

The asyncio primitives are rebuilt when the running event loop changes, so a backend can be
shared by callers that run `asyncio.run()` once per question.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from retriever.http_client import (
    backoff_delay,
    clean_message,
    retry_after_seconds,
    server_message,
)
from tools.web.results import BackendError

__all__ = [
    "RETRY_STATUSES",
    "BackendLimits",
    "RetryPolicy",
    "TokenBucket",
    "blank_secrets",
    "send_with_retries",
]

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429})
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def blank_secrets(text: str, secrets: Sequence[str], limit: int = 300) -> str:
    """`text` as one bounded line with every form of the secret (`secrets`) blanked first."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return clean_message(text, None, limit)


def _server_message(response: httpx.Response, secrets: Sequence[str]) -> str:
    """`server_message` with every secret form blanked before the text is cut to length (a key
    cut in half by the limit would otherwise leak its first part)."""
    if len(secrets) <= 1:
        return server_message(response, secrets[0] if secrets else None)
    text = response.text
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    kind = response.headers.get("content-type", "text/plain").split(";")[0]
    masked = httpx.Response(
        response.status_code, headers={"content-type": kind}, content=text.encode()
    )
    return server_message(masked)


class TokenBucket:
    """At most `rate` requests per second on average, bursts of up to `burst`. Waiters are
    served in order (one lock), each sleeping until its token is due."""

    def __init__(
        self,
        rate: float | None,
        burst: int = 1,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be > 0 (or None for no limit)")
        if burst < 1:
            raise ValueError("burst must be >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bound_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock = asyncio.Lock()
            self._loop = loop
        return self._lock

    async def acquire(self) -> None:
        if self.rate is None:
            return
        async with self._bound_lock():
            while True:
                now = self._clock()
                elapsed = max(0.0, now - self._updated)
                self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


class BackendLimits:
    """The rate limit and the concurrency cap of one backend. `async with limits.slot():`
    waits for a token, then for a free slot, and holds the slot for the request."""

    def __init__(
        self,
        requests_per_second: float | None,
        max_concurrent: int,
        *,
        burst: int = 1,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1")
        self.bucket = TokenBucket(requests_per_second, burst, clock=clock, sleep=sleep)
        self.max_concurrent = max_concurrent
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bound_semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore = asyncio.Semaphore(self.max_concurrent)
            self._loop = loop
        return self._semaphore

    def slot(self) -> _Slot:
        return _Slot(self)


class _Slot:
    def __init__(self, limits: BackendLimits) -> None:
        self._limits = limits
        self._semaphore: asyncio.Semaphore | None = None

    async def __aenter__(self) -> None:
        semaphore = self._limits._bound_semaphore()
        await semaphore.acquire()
        try:
            await self._limits.bucket.acquire()
        except BaseException:
            semaphore.release()
            raise
        self._semaphore = semaphore

    async def __aexit__(self, *exc: object) -> None:
        if self._semaphore is not None:
            self._semaphore.release()
            self._semaphore = None


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` retries after the first attempt; waits of `backoff * 2**n` (jittered),
    never more than `max_backoff`; a Retry-After beyond `max_backoff` ends the retries."""

    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoff and max_backoff must be >= 0")


async def send_with_retries(
    backend: str,
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    limits: BackendLimits,
    policy: RetryPolicy,
    what: str,
    timeout: float,
    secrets: Sequence[str] = (),
    sleep: Sleep = asyncio.sleep,
) -> httpx.Response:
    """Call `send` (one HTTP request) under `limits`, retrying what is worth retrying.
    Returns the first 2xx response; raises `BackendError` otherwise. `what` ("GET url") and
    every server text in the error are key-free (each of `secrets` is blanked)."""
    secrets = [secret for secret in secrets if secret]
    attempts = policy.max_retries + 1
    last = ""
    for attempt in range(attempts):
        retry_after: float | None = None
        try:
            async with limits.slot():
                response = await send()
        except httpx.TimeoutException as exc:
            last = f"timed out after {timeout:g} s ({type(exc).__name__})"
        except httpx.TransportError as exc:
            detail = blank_secrets(str(exc), secrets, 160) or type(exc).__name__
            last = f"connection failed ({type(exc).__name__}: {detail})"
        else:
            status = response.status_code
            if 200 <= status < 300:
                return response
            message = _server_message(response, secrets)
            if status not in RETRY_STATUSES and status < 500:
                raise BackendError(backend, f"{what}: HTTP {status}: {message}")
            last = f"HTTP {status}: {message}"
            retry_after = retry_after_seconds(response)
            if retry_after is not None and retry_after > policy.max_backoff:
                raise BackendError(
                    backend,
                    f"{what}: {last}; the server asks to wait {retry_after:g} s (Retry-After), "
                    f"more than the {policy.max_backoff:g} s cap, so it was not retried",
                )
        if attempt + 1 < attempts:
            delay = backoff_delay(attempt, policy.backoff, policy.max_backoff, retry_after)
            logger.info(
                "web %s: %s attempt %d of %d failed (%s); retrying in %.2f s",
                backend, what, attempt + 1, attempts, last, delay,
            )  # fmt: skip
            await sleep(delay)
    raise BackendError(backend, f"{what} failed after {attempts} attempt(s): {last}")
