"""What every web search backend takes and gives: `SearchRequest`, `WebResult`, the errors,
and the small pure helpers they share (URL normalisation, publication dates).

Plain data only: no HTTP here, so the agent and tests can build requests and results freely.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "RECENCY_DAYS",
    "BackendError",
    "BackendFailure",
    "Recency",
    "SearchRequest",
    "WebResult",
    "is_http_url",
    "normalise_url",
    "parse_published",
    "strip_tracking",
]

Recency = Literal["day", "week", "month", "year"]
RECENCY_DAYS: dict[str, int] = {"day": 1, "week": 7, "month": 31, "year": 366}
"""How far back each recency reaches (generous: a month is 31 days, a year 366)."""


class BackendError(RuntimeError):
    """A web search backend could not answer: bad configuration, HTTP error, unreadable reply.
    The message names the backend and never holds its API key."""

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(f"web backend {backend!r}: {message}")
        self.backend = backend
        self.reason = message


@dataclass(frozen=True)
class BackendFailure:
    """One backend that failed during a multi-backend search, and why (key-free text)."""

    backend: str
    reason: str

    def __str__(self) -> str:
        return f"{self.backend}: {self.reason}"


class SearchRequest(BaseModel):
    """One web search: the query, how many results, and an optional time window.

    `recency` means "published within the last day/week/month/year"; `date_from`/`date_to`
    (inclusive) give an explicit window. Both may be given: the window is their intersection.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str = Field(min_length=1, max_length=500)
    k: int = Field(10, ge=1, le=50)
    recency: Recency | None = None
    date_from: date | None = None
    date_to: date | None = None

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("query is blank")
        return value

    @model_validator(mode="after")
    def _window(self) -> SearchRequest:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        return self

    @property
    def has_range(self) -> bool:
        """Whether an explicit date window was asked for."""
        return self.date_from is not None or self.date_to is not None

    def window(self, today: date) -> tuple[date | None, date | None]:
        """The effective inclusive window: the explicit dates intersected with the recency."""
        start, end = self.date_from, self.date_to
        if self.recency is not None:
            since = today - timedelta(days=RECENCY_DAYS[self.recency])
            start = since if start is None else max(start, since)
        return start, end

    def nearest_recency(self, today: date) -> Recency | None:
        """The narrowest recency that still covers the effective window (for backends without
        date ranges): None when the window starts more than a year ago, or has no start."""
        start, _ = self.window(today)
        if start is None:
            return self.recency
        age = (today - start).days
        for name in ("day", "week", "month", "year"):
            if age <= RECENCY_DAYS[name]:
                return name
        return None

    def cache_arguments(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class WebResult(BaseModel):
    """One search result. `rank` is 1-based within its backend (or within the merged list);
    `score` is the backend's own relevance score, or the fused score after merging."""

    title: str = ""
    url: str
    snippet: str = ""
    published: date | None = None
    backend: str
    rank: int = Field(ge=1)
    score: float | None = None
    backends: list[str] = Field(
        default_factory=list, description="merged results: every backend that found the URL"
    )

    def within(self, start: date | None, end: date | None) -> bool:
        """False only when the publication date is known and outside [start, end]."""
        if self.published is None:
            return True
        if start is not None and self.published < start:
            return False
        return not (end is not None and self.published > end)


# -- URLs ----------------------------------------------------------------------------------

_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_TRACKING_NAMES = frozenset(
    {
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "srsltid", "ref_src", "_ga",
        "_gl", "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "spm",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with a host."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        return False
    try:
        return bool(urlsplit(value).hostname)
    except ValueError:
        return False


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """`url` without tracking query parameters (utm_*, gclid, fbclid, ...), otherwise as given."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    return urlunsplit(parts._replace(query=urlencode(kept, doseq=True)))


def normalise_url(url: str) -> str:
    """The de-duplication form of a URL: lower-case scheme and host, no `www.`, no default
    port, no fragment, no tracking parameters, remaining parameters sorted, no trailing slash;
    http and https count as the same page (both become `https`)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return text
    if not host:
        return text
    scheme = parts.scheme.lower()
    if host.startswith("www."):
        host = host[4:]
    netloc = host
    if port is not None and str(port) != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if scheme in _DEFAULT_PORTS:
        scheme = "https"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    )
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


# -- dates ---------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2}))?.*?)?$")
_MDY_RE = re.compile(r"^([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$")
_DMY_RE = re.compile(r"^(\d{1,2})\s+([a-z]{3,9})\.?,?\s+(\d{4})$")
_SLASH_RE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_AGO_RE = re.compile(
    r"^(\d+|an?|one)\s+(second|sec|minute|min|hour|hr|day|week|month|year)s?\s+ago$"
)
_AGO_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_published(value: Any, today: date | None = None) -> date | None:
    """A publication date from what the services send: ISO dates and date-times
    ("2024-03-05", "2024-03-05T10:00:00Z"), "Mar 5, 2024", "5 March 2024", "03/05/2024"
    (US order), RFC 2822 ("Wed, 26 Mar 2025 15:31:02 GMT") and relative ages ("3 days ago",
    "an hour ago"). None when unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not text or len(text) > 64:
        return None
    match = _ISO_RE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups()[:3])
        return _safe_date(year, month, day)
    match = _MDY_RE.match(text)
    if match and match.group(1) in _MONTHS:
        return _safe_date(int(match.group(3)), _MONTHS[match.group(1)], int(match.group(2)))
    match = _DMY_RE.match(text)
    if match and match.group(2) in _MONTHS:
        return _safe_date(int(match.group(3)), _MONTHS[match.group(2)], int(match.group(1)))
    match = _SLASH_RE.match(text)
    if match:
        return _safe_date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    match = _AGO_RE.match(text)
    if match:
        amount = int(match.group(1)) if match.group(1).isdigit() else 1
        unit = match.group(2)
        base = today or datetime.now(UTC).date()
        return base - timedelta(days=amount * _AGO_DAYS.get(unit, 0))
    try:  # RFC 2822, e.g. "Wed, 26 Mar 2025 15:31:02 GMT"
        return email.utils.parsedate_to_datetime(value.strip()).date()
    except (TypeError, ValueError, IndexError):
        return None
