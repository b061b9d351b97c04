"""Helpers shared by every HTTP client of the project (model servers, embeddings endpoints,
web backends): the retry policy, the auth header, and one-line error messages with the API key
blanked. It lives in `retriever` because that package sits below `agent` and `tools` in the
import order, so all of them can use it."""

from __future__ import annotations

import email.utils
import json
import random
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: importing this module stays light
    import httpx

_WS_RE = re.compile(r"\s+")


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


def auth_headers(api_key: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def clean_message(text: str, api_key: str | None = None, limit: int = 300) -> str:
    """One line, bounded, with the API key (if any) blanked out."""
    if api_key:
        text = text.replace(api_key, "***")
    text = _WS_RE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def server_message(response: httpx.Response, api_key: str | None = None) -> str:
    """The error message a server put in its body, as one clean line (traceback frames that
    some servers, e.g. llama-cpp-python, append to it are cut)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    message: Any = body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            message = err.get("message") or err.get("detail") or err
        elif err is not None:
            message = err
        if isinstance(message, dict):
            message = body.get("detail") or body.get("message") or message
    if not isinstance(message, str):
        message = json.dumps(message)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if lines and lines[0].startswith("Traceback"):
        lines = lines[-1:]  # a Python traceback: keep only the exception line
    for i, line in enumerate(lines):
        if line.startswith(("Traceback", 'File "')):
            lines = lines[:i]
            break
    text = " ".join(lines) or response.reason_phrase or "no message"
    return clean_message(text, api_key)
