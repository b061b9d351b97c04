"""HTTP retry policy shared by every HTTP client of the project (model servers, embeddings
endpoints, web backends). It lives in `retriever` because that package sits below `agent` and
`tools` in the import order, so all of them can use it."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for annotations: importing this module stays light
    import httpx


def backoff_delay(
    attempt: int, backoff: float, max_backoff: float, retry_after: float | None = None
) -> float:
    """Exponential backoff with jitter for retry `attempt` (0-based); a server's Retry-After
    wins when it is longer; never more than `max_backoff`."""
    delay = backoff * (2**attempt) * (0.5 + random.random() / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, max_backoff)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (a number or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
