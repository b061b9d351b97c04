"""Web search backends behind one interface: SearxNG, Brave Search, Tavily and Serper (Google).

Each backend maps a `SearchRequest` (query, k, recency, date window) to its service's own
parameters, sends it under its rate limit, concurrency cap and retry policy
(`tools.web.limits`), and parses the JSON reply defensively into `WebResult`s: items without
an http(s) URL or of the wrong shape are skipped; a reply that is not the expected JSON is a
`BackendError` naming the backend.

Secrets: the API key comes from the settings (`api_key`) or the environment (`api_key_env`,
else e.g. ``WIDESEEK_BRAVE_API_KEY`` then ``BRAVE_API_KEY``). It is kept as a `SecretStr`, put
only into the request headers at send time, and blanked from every error message, log line and
result text (servers that echo request headers in their error bodies included). Keys never go
into URLs, so httpx's request log lines hold none.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, field_validator

from tools.web.limits import BackendLimits, RetryPolicy, Sleep, blank_secrets, send_with_retries
from tools.web.results import (
    BackendError,
    SearchRequest,
    WebResult,
    is_http_url,
    normalise_url,
    parse_published,
)

__all__ = [
    "AnyBackendSettings",
    "BackendConfigError",
    "BackendSettings",
    "BraveBackend",
    "BraveSettings",
    "PreparedRequest",
    "SearchBackend",
    "SearxNGBackend",
    "SearxNGSettings",
    "SerperBackend",
    "SerperSettings",
    "TavilyBackend",
    "TavilySettings",
    "build_backend",
    "parse_backend_settings",
]

logger = logging.getLogger(__name__)

BackendKind = Literal["searxng", "brave", "tavily", "serper"]
_EPOCH = date(1970, 1, 1)


class BackendConfigError(ValueError):
    """A backend's settings cannot work (e.g. a key-only service without a key)."""


def _http_base(value: str | None) -> str | None:
    if value is None:
        return None
    if not is_http_url(value):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class BackendSettings(BaseModel):
    """What every backend is configured with (a `[web.backends.<name>]` table, say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: BackendKind
    name: str | None = Field(
        None, min_length=1, max_length=40, description="defaults to `kind`; must be unique"
    )
    base_url: str | None = Field(None, description="the service's root URL (default: its own)")
    api_key: SecretStr | None = Field(None, description="the key (else read from api_key_env)")
    api_key_env: str | None = Field(
        None, description="variable holding the key (default WIDESEEK_<KIND>_API_KEY, then "
        "the service's usual variable, e.g. BRAVE_API_KEY)",
    )  # fmt: skip
    requests_per_second: float | None = Field(
        1.0, gt=0, description="token-bucket rate (None: unlimited)"
    )
    max_concurrent: int = Field(4, ge=1, le=64, description="requests in flight at once")
    timeout: float = Field(15.0, gt=0, description="seconds per HTTP request")
    max_retries: int = Field(2, ge=0, le=10)
    backoff: float = Field(0.5, ge=0, description="first retry wait in seconds (doubles)")
    max_backoff: float = Field(
        20.0, ge=0, description="longest wait; a longer Retry-After gives up instead"
    )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return _http_base(value)

    default_env: ClassVar[tuple[str, ...]] = ()
    key_required: ClassVar[bool] = True

    @property
    def backend_name(self) -> str:
        return self.name or self.kind

    def env_names(self) -> tuple[str, ...]:
        return (self.api_key_env,) if self.api_key_env else self.default_env

    def secret(self, environ: Mapping[str, str] | None = None) -> SecretStr | None:
        """The key: `api_key`, else the first variable of `env_names()` that is set."""
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key
        env = os.environ if environ is None else environ
        for name in self.env_names():
            value = env.get(name, "").strip()
            if value:
                return SecretStr(value)
        return None


class SearxNGSettings(BackendSettings):
    """A SearxNG instance (self-hosted; JSON output must be enabled in its settings.yml). No key
    normally; behind a proxy, `api_key` is sent as a bearer token or a basic-auth password."""

    kind: Literal["searxng"] = "searxng"
    requests_per_second: float | None = Field(2.0, gt=0)
    auth: Literal["bearer", "basic"] = "bearer"
    username: str | None = Field(None, description="basic auth: the user (api_key: password)")
    categories: str | None = Field(None, description="comma-separated, e.g. 'general,news'")
    language: str | None = Field(None, description="e.g. 'en', 'de-CH', 'all'")
    max_pages: int = Field(1, ge=1, le=5, description="pages fetched while fewer than k results")

    default_env: ClassVar[tuple[str, ...]] = ("WIDESEEK_SEARXNG_API_KEY",)
    key_required: ClassVar[bool] = False


class BraveSettings(BackendSettings):
    """Brave Search API (web search endpoint). The free plan allows 1 request per second."""

    kind: Literal["brave"] = "brave"
    country: str | None = Field(None, description="2-letter country code, e.g. 'us'")
    search_lang: str | None = Field(None, description="e.g. 'en'")

    default_env: ClassVar[tuple[str, ...]] = (
        "WIDESEEK_BRAVE_API_KEY",
        "BRAVE_API_KEY",
        "BRAVE_SEARCH_API_KEY",
    )


class TavilySettings(BackendSettings):
    """Tavily search API."""

    kind: Literal["tavily"] = "tavily"
    requests_per_second: float | None = Field(2.0, gt=0)
    search_depth: Literal["basic", "advanced"] = "basic"
    topic: Literal["general", "news"] = Field(
        "general", description="'news' also returns publication dates"
    )

    default_env: ClassVar[tuple[str, ...]] = ("WIDESEEK_TAVILY_API_KEY", "TAVILY_API_KEY")


class SerperSettings(BackendSettings):
    """Serper.dev (Google results)."""

    kind: Literal["serper"] = "serper"
    requests_per_second: float | None = Field(2.0, gt=0)
    gl: str | None = Field(None, description="country, e.g. 'us'")
    hl: str | None = Field(None, description="interface language, e.g. 'en'")

    default_env: ClassVar[tuple[str, ...]] = ("WIDESEEK_SERPER_API_KEY", "SERPER_API_KEY")


AnyBackendSettings = Annotated[
    SearxNGSettings | BraveSettings | TavilySettings | SerperSettings,
    Field(discriminator="kind"),
]
_SETTINGS_ADAPTER: TypeAdapter[
    SearxNGSettings | BraveSettings | TavilySettings | SerperSettings
] = TypeAdapter(AnyBackendSettings)


def parse_backend_settings(
    data: Mapping[str, Any] | BackendSettings,
) -> SearxNGSettings | BraveSettings | TavilySettings | SerperSettings:
    """Settings of the right class from a mapping with a `kind` (or a settings object)."""
    if isinstance(data, SearxNGSettings | BraveSettings | TavilySettings | SerperSettings):
        return data
    if isinstance(data, BackendSettings):
        return _SETTINGS_ADAPTER.validate_python(data.model_dump(exclude_unset=True))
    return _SETTINGS_ADAPTER.validate_python(dict(data))


@dataclass
class PreparedRequest:
    """One HTTP request to a backend, without its auth headers (so it can be logged)."""

    method: Literal["GET", "POST"]
    url: str
    params: dict[str, str | int] = field(default_factory=dict)
    json: dict[str, Any] | None = None

    def shown(self) -> str:
        return f"{self.method} {self.url}"


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class SearchBackend(abc.ABC):
    """One web search service. Subclasses set `kind`, `default_base_url`, and implement
    `prepare` (the request), `auth_headers` and `parse` (the reply's items)."""

    kind: ClassVar[str]
    default_base_url: ClassVar[str | None] = None

    def __init__(
        self,
        settings: BackendSettings,
        api_key: SecretStr | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        today: Callable[[], date] | None = None,
    ) -> None:
        base = settings.base_url or self.default_base_url
        if not base:
            raise BackendConfigError(
                f"web backend {settings.backend_name!r} ({self.kind}) needs a base_url"
            )
        self.settings = settings
        self.name = settings.backend_name
        self.base_url = base.rstrip("/")
        self._secret = api_key if api_key is not None and api_key.get_secret_value() else None
        self.limits = BackendLimits(settings.requests_per_second, settings.max_concurrent)
        self.policy = RetryPolicy(settings.max_retries, settings.backoff, settings.max_backoff)
        self._sleep = sleep
        self._today = today or (lambda: datetime.now(UTC).date())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.base_url}>"

    # -- what subclasses provide -------------------------------------------------------------

    @abc.abstractmethod
    def prepare(self, request: SearchRequest, page: int = 1) -> PreparedRequest:
        """The HTTP request for `request` (page `page`, for services that page)."""

    @abc.abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """The headers that carry the key (empty without one)."""

    @abc.abstractmethod
    def items(self, data: dict[str, Any]) -> list[Any]:
        """The result items of a reply (raise `BackendError` for a reply of the wrong shape)."""

    @abc.abstractmethod
    def parse_item(self, item: dict[str, Any]) -> WebResult | None:
        """One item as a result with rank 1 (re-ranked later), or None to skip it."""

    def max_pages(self, request: SearchRequest) -> int:
        return 1

    def cache_scope(self) -> dict[str, Any]:
        """Besides the request, what decides the results (part of the cache key)."""
        return self.settings.model_dump(
            mode="json",
            include={"kind", "base_url"} | self._scope_fields(),
        ) | {"base_url": self.base_url}

    def _scope_fields(self) -> set[str]:
        return set()

    # -- shared machinery --------------------------------------------------------------------

    def secrets(self) -> list[str]:
        """Every form of the key that could show up in text (the key, encoded headers)."""
        if self._secret is None:
            return []
        return [self._secret.get_secret_value()]

    def mask(self, text: str, limit: int = 300) -> str:
        """`text` as one bounded line with the key (in every form) blanked."""
        return blank_secrets(text, self.secrets(), limit)

    def today(self) -> date:
        return self._today()

    def error(self, message: str) -> BackendError:
        return BackendError(self.name, self.mask(message, 500))

    def _base_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    async def fetch(self, client: httpx.AsyncClient, prepared: PreparedRequest) -> dict[str, Any]:
        """Send `prepared` (with retries) and return the reply's JSON object."""
        headers = self._base_headers() | self.auth_headers()
        timeout = self.settings.timeout

        async def send() -> httpx.Response:
            return await client.request(
                prepared.method,
                prepared.url,
                params=prepared.params or None,
                json=prepared.json,
                headers=headers,
                timeout=timeout,
            )

        logger.debug("web %s: %s", self.name, prepared.shown())
        response = await send_with_retries(
            self.name,
            send,
            limits=self.limits,
            policy=self.policy,
            what=prepared.shown(),
            timeout=timeout,
            secrets=self.secrets(),
            sleep=self._sleep,
        )
        try:
            data = response.json()
        except ValueError:
            excerpt = self.mask(response.text, 120)
            raise self.error(
                f"{prepared.shown()}: HTTP {response.status_code} but the body is not JSON: "
                f"{excerpt!r}"
            ) from None
        if not isinstance(data, dict):
            raise self.error(
                f"{prepared.shown()}: the reply is a JSON {type(data).__name__}, not an object"
            )
        return data

    def parse(self, data: dict[str, Any]) -> list[WebResult]:
        """The reply's usable results in reply order (malformed items skipped)."""
        results: list[WebResult] = []
        skipped = 0
        for item in self.items(data):
            parsed = self.parse_item(item) if isinstance(item, dict) else None
            if parsed is None:
                skipped += 1
                continue
            results.append(parsed)
        if skipped:
            logger.debug("web %s: skipped %d malformed result item(s)", self.name, skipped)
        return results

    def _result(
        self, url: Any, title: Any, snippet: Any, published: Any, score: Any = None
    ) -> WebResult | None:
        if not is_http_url(url):
            return None
        return WebResult(
            title=_text(title),
            url=url.strip(),
            snippet=_text(snippet),
            published=parse_published(published, self.today()),
            backend=self.name,
            rank=1,
            score=_number(score),
        )

    def _clean(self, result: WebResult) -> WebResult:
        secrets = self.secrets()
        if not secrets or not any(
            s in text for s in secrets for text in (result.title, result.url, result.snippet)
        ):
            return result
        return result.model_copy(
            update={
                "title": self.mask(result.title, 10_000),
                "url": result.url.replace(secrets[0], "***"),
                "snippet": self.mask(result.snippet, 10_000),
            }
        )

    async def search(self, request: SearchRequest, client: httpx.AsyncClient) -> list[WebResult]:
        """Up to `request.k` results, ranked 1..n in the backend's order. Results known to be
        published outside an explicit date window are dropped. Raises `BackendError`."""
        start, end = request.window(self.today()) if request.has_range else (None, None)
        seen: set[str] = set()
        results: list[WebResult] = []
        for page in range(1, self.max_pages(request) + 1):
            fresh = 0
            for result in self.parse(await self.fetch(client, self.prepare(request, page))):
                key = normalise_url(result.url)
                if key in seen:
                    continue
                seen.add(key)
                fresh += 1
                if request.has_range and not result.within(start, end):
                    continue
                results.append(self._clean(result))
            if fresh == 0 or len(results) >= request.k:
                break
        return [
            result.model_copy(update={"rank": rank})
            for rank, result in enumerate(results[: request.k], start=1)
        ]


class SearxNGBackend(SearchBackend):
    """GET {base}/search?q=...&format=json[&time_range=day|week|month|year][&pageno=N]. SearxNG
    has no date range: a window maps to the narrowest `time_range` covering it, and results
    with a known `publishedDate` outside the window are dropped."""

    kind = "searxng"
    settings: SearxNGSettings

    def __init__(
        self,
        settings: SearxNGSettings,
        api_key: SecretStr | None = None,
        **options: Any,
    ) -> None:
        super().__init__(settings, api_key, **options)

    def prepare(self, request: SearchRequest, page: int = 1) -> PreparedRequest:
        params: dict[str, str | int] = {"q": request.query, "format": "json"}
        time_range = request.nearest_recency(self.today()) if request.has_range else request.recency
        if time_range:
            params["time_range"] = time_range
        if page > 1:
            params["pageno"] = page
        if self.settings.categories:
            params["categories"] = self.settings.categories
        if self.settings.language:
            params["language"] = self.settings.language
        return PreparedRequest("GET", f"{self.base_url}/search", params)

    def _token(self) -> str | None:
        if self._secret is None:
            return None
        key = self._secret.get_secret_value()
        if self.settings.auth == "basic":
            pair = f"{self.settings.username or ''}:{key}".encode()
            return base64.b64encode(pair).decode("ascii")
        return None

    def secrets(self) -> list[str]:
        token = self._token()
        return super().secrets() + ([token] if token else [])

    def auth_headers(self) -> dict[str, str]:
        if self._secret is None:
            return {}
        token = self._token()
        if token is not None:
            return {"Authorization": f"Basic {token}"}
        return {"Authorization": f"Bearer {self._secret.get_secret_value()}"}

    def max_pages(self, request: SearchRequest) -> int:
        return self.settings.max_pages

    def _scope_fields(self) -> set[str]:
        return {"categories", "language"}

    def items(self, data: dict[str, Any]) -> list[Any]:
        results = data.get("results")
        if not isinstance(results, list):
            raise self.error("the reply has no 'results' list (is format=json enabled?)")
        return results

    def parse_item(self, item: dict[str, Any]) -> WebResult | None:
        return self._result(
            item.get("url"),
            item.get("title"),
            item.get("content"),
            item.get("publishedDate") or item.get("pubdate"),
            item.get("score"),
        )


class BraveBackend(SearchBackend):
    """GET {base}/res/v1/web/search?q=...&count=N[&freshness=pd|pw|pm|py|FROMtoTO] with the key
    in `X-Subscription-Token`. `count` is at most 20."""

    kind = "brave"
    default_base_url = "https://api.search.brave.com"
    settings: BraveSettings
    _FRESHNESS: ClassVar[dict[str, str]] = {"day": "pd", "week": "pw", "month": "pm", "year": "py"}

    def __init__(
        self, settings: BraveSettings, api_key: SecretStr | None = None, **options: Any
    ) -> None:
        super().__init__(settings, api_key, **options)

    def prepare(self, request: SearchRequest, page: int = 1) -> PreparedRequest:
        params: dict[str, str | int] = {"q": request.query, "count": min(request.k, 20)}
        if request.has_range:
            start, end = request.window(self.today())
            params["freshness"] = (
                f"{(start or _EPOCH).isoformat()}to{(end or self.today()).isoformat()}"
            )
        elif request.recency:
            params["freshness"] = self._FRESHNESS[request.recency]
        if self.settings.country:
            params["country"] = self.settings.country
        if self.settings.search_lang:
            params["search_lang"] = self.settings.search_lang
        return PreparedRequest("GET", f"{self.base_url}/res/v1/web/search", params)

    def auth_headers(self) -> dict[str, str]:
        return {"X-Subscription-Token": self._secret.get_secret_value()} if self._secret else {}

    def _scope_fields(self) -> set[str]:
        return {"country", "search_lang"}

    def items(self, data: dict[str, Any]) -> list[Any]:
        web = data.get("web")
        if web is None:  # Brave leaves out `web` when nothing was found
            if data.get("type") not in (None, "search"):
                raise self.error(f"unexpected reply of type {_text(str(data.get('type')))!r}")
            return []
        results = web.get("results") if isinstance(web, dict) else None
        if not isinstance(results, list):
            raise self.error("the reply's 'web' has no 'results' list")
        return results

    def parse_item(self, item: dict[str, Any]) -> WebResult | None:
        return self._result(
            item.get("url"),
            item.get("title"),
            item.get("description"),
            item.get("page_age") or item.get("age"),
        )


class TavilyBackend(SearchBackend):
    """POST {base}/search {"query", "max_results", "search_depth", "topic",
    "time_range" | "start_date"/"end_date"} with `Authorization: Bearer KEY`. `max_results` is
    at most 20."""

    kind = "tavily"
    default_base_url = "https://api.tavily.com"
    settings: TavilySettings

    def __init__(
        self, settings: TavilySettings, api_key: SecretStr | None = None, **options: Any
    ) -> None:
        super().__init__(settings, api_key, **options)

    def prepare(self, request: SearchRequest, page: int = 1) -> PreparedRequest:
        body: dict[str, Any] = {
            "query": request.query,
            "max_results": min(request.k, 20),
            "search_depth": self.settings.search_depth,
            "topic": self.settings.topic,
        }
        if request.has_range:
            start, end = request.window(self.today())
            if start is not None:
                body["start_date"] = start.isoformat()
            if end is not None:
                body["end_date"] = end.isoformat()
        elif request.recency:
            body["time_range"] = request.recency
        return PreparedRequest("POST", f"{self.base_url}/search", json=body)

    def auth_headers(self) -> dict[str, str]:
        return (
            {"Authorization": f"Bearer {self._secret.get_secret_value()}"} if self._secret else {}
        )

    def _scope_fields(self) -> set[str]:
        return {"search_depth", "topic"}

    def items(self, data: dict[str, Any]) -> list[Any]:
        results = data.get("results")
        if not isinstance(results, list):
            detail = data.get("detail") or data.get("error")
            suffix = f": {_text(str(detail))}" if detail else ""
            raise self.error(f"the reply has no 'results' list{suffix}")
        return results

    def parse_item(self, item: dict[str, Any]) -> WebResult | None:
        return self._result(
            item.get("url"),
            item.get("title"),
            item.get("content"),
            item.get("published_date"),
            item.get("score"),
        )


class SerperBackend(SearchBackend):
    """POST {base}/search {"q", "num", "tbs": "qdr:d|w|m|y" or "cdr:1,cd_min:MM/DD/YYYY,
    cd_max:MM/DD/YYYY"} with the key in `X-API-KEY`; results under `organic`."""

    kind = "serper"
    default_base_url = "https://google.serper.dev"
    settings: SerperSettings
    _QDR: ClassVar[dict[str, str]] = {"day": "d", "week": "w", "month": "m", "year": "y"}

    def __init__(
        self, settings: SerperSettings, api_key: SecretStr | None = None, **options: Any
    ) -> None:
        super().__init__(settings, api_key, **options)

    def prepare(self, request: SearchRequest, page: int = 1) -> PreparedRequest:
        # Google pages by tens: ask for the next multiple of 10 and keep the first k
        body: dict[str, Any] = {"q": request.query, "num": min(100, -(-request.k // 10) * 10)}
        if request.has_range:
            start, end = request.window(self.today())
            parts = ["cdr:1"]
            if start is not None:
                parts.append(f"cd_min:{start.strftime('%m/%d/%Y')}")
            if end is not None:
                parts.append(f"cd_max:{end.strftime('%m/%d/%Y')}")
            body["tbs"] = ",".join(parts)
        elif request.recency:
            body["tbs"] = f"qdr:{self._QDR[request.recency]}"
        if self.settings.gl:
            body["gl"] = self.settings.gl
        if self.settings.hl:
            body["hl"] = self.settings.hl
        return PreparedRequest("POST", f"{self.base_url}/search", json=body)

    def auth_headers(self) -> dict[str, str]:
        return {"X-API-KEY": self._secret.get_secret_value()} if self._secret else {}

    def _scope_fields(self) -> set[str]:
        return {"gl", "hl"}

    def items(self, data: dict[str, Any]) -> list[Any]:
        organic = data.get("organic")
        if organic is None and "message" in data:
            raise self.error(f"the reply holds no results: {_text(str(data['message']))}")
        if organic is None:
            return []
        if not isinstance(organic, list):
            raise self.error("the reply's 'organic' is not a list")
        ranked = [item for item in organic if isinstance(item, dict)]
        ranked.sort(key=lambda item: p if isinstance(p := item.get("position"), int) else 10**6)
        return ranked + [item for item in organic if not isinstance(item, dict)]

    def parse_item(self, item: dict[str, Any]) -> WebResult | None:
        return self._result(
            item.get("link"), item.get("title"), item.get("snippet"), item.get("date")
        )


_CLASSES: dict[str, type[SearchBackend]] = {
    "searxng": SearxNGBackend,
    "brave": BraveBackend,
    "tavily": TavilyBackend,
    "serper": SerperBackend,
}


def build_backend(
    settings: BackendSettings | Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Sleep = asyncio.sleep,
    today: Callable[[], date] | None = None,
) -> SearchBackend:
    """The backend for `settings` (an object or a mapping with `kind`), its key resolved from
    the settings or the environment. Raises `BackendConfigError` for a missing required key."""
    typed = parse_backend_settings(settings)
    secret = typed.secret(environ)
    if secret is None and typed.key_required:
        names = typed.env_names()
        where = " or ".join(names) if names else "an environment variable"
        raise BackendConfigError(
            f"web backend {typed.backend_name!r} ({typed.kind}) needs an API key: set {where}, "
            "or api_key in its settings"
        )
    cls = _CLASSES[typed.kind]
    return cls(typed, secret, sleep=sleep, today=today)
