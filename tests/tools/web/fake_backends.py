"""One real HTTP server on 127.0.0.1 that imitates four web search APIs at their own paths:

- SearxNG: ``GET  /searxng/search?q=...&format=json`` (no key unless `searxng_key` is set,
  then ``Authorization: Bearer``/``Basic``);
- Brave:   ``GET  /brave/res/v1/web/search?q=...&count=N`` with ``X-Subscription-Token``;
- Tavily:  ``POST /tavily/search`` (JSON) with ``Authorization: Bearer``;
- Serper:  ``POST /serper/search`` (JSON) with ``X-API-KEY``.

Each service answers from `pages[kind]` (a list of plain dicts: title, url, snippet,
published) in its own JSON shape. It records every request, counts requests in flight, and
can be told (`plan`) to answer 429 with Retry-After, 500, slowly, with malformed JSON, or with
an error body that echoes the request headers (keys included, as a careless server would).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KINDS = ("searxng", "brave", "tavily", "serper")
MARK = "Zq8-LEAKCHECK"
KEYS = {
    "brave": f"brv-{MARK}-41c7d2",
    "tavily": f"tvly-{MARK}-9be013",
    "serper": f"srp-{MARK}-c0ffee",
    "searxng": f"sx-{MARK}-5a5a5a",
}

PAGES: list[dict[str, Any]] = [
    {
        "title": "Alpha page",
        "url": "https://www.example.org/alpha/",
        "snippet": "Alpha is the first letter.",
        "published": "2024-03-05",
    },
    {
        "title": "Beta page",
        "url": "https://example.org/beta",
        "snippet": "Beta comes second.",
        "published": None,
    },
    {
        "title": "Gamma page",
        "url": "https://gamma.example.com/g?id=3",
        "snippet": "Gamma, the third.",
        "published": "2023-11-20",
    },
]


@dataclass
class Seen:
    kind: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Answer:
    """A scripted answer: `status` with `body` (None: the normal results), extra `headers`,
    `raw` bytes instead of JSON, `delay` seconds before answering, `echo` the request
    headers in a 500 body."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    delay: float = 0.0
    echo: bool = False


def _iso(value: Any) -> str | None:
    return f"{value}T09:30:00" if isinstance(value, str) else None


def _pretty(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return date.fromisoformat(value).strftime("%b %-d, %Y")


class FakeSearch:
    def __init__(self, keys: dict[str, str] | None = None, searxng_key: str | None = None) -> None:
        self.keys = dict(KEYS if keys is None else keys)
        self.searxng_key = searxng_key
        self.searxng_user = "proxyuser"
        self.pages: dict[str, list[dict[str, Any]]] = {kind: list(PAGES) for kind in KINDS}
        self.plan: dict[str, list[Answer]] = {kind: [] for kind in KINDS}
        self.down: set[str] = set()
        """Services that answer 500 to everything."""
        self.delay: dict[str, float] = {kind: 0.0 for kind in KINDS}
        self.requests: list[Seen] = []
        self.in_flight: dict[str, int] = {kind: 0 for kind in KINDS}
        self.max_in_flight: dict[str, int] = {kind: 0 for kind in KINDS}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                kind = parts.path.strip("/").split("/", 1)[0]
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                seen = Seen(
                    kind, self.command, parts.path, parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(),
                )  # fmt: skip
                with fake.lock:
                    fake.requests.append(seen)
                    if kind in fake.in_flight:
                        fake.in_flight[kind] += 1
                        fake.max_in_flight[kind] = max(
                            fake.max_in_flight[kind], fake.in_flight[kind]
                        )
                try:
                    status, headers, payload, delay = fake.answer(seen)
                    if delay and fake.stop.wait(delay):
                        return
                    self.send_response(status)
                    headers.setdefault("Content-Type", "application/json")
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with fake.lock:
                        if kind in fake.in_flight:
                            fake.in_flight[kind] -= 1

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- addresses -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def base(self, kind: str) -> str:
        return f"{self.url}/{kind}"

    def seen(self, kind: str) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.requests if seen.kind == kind]

    # -- answering -----------------------------------------------------------------------------

    def _authorised(self, seen: Seen) -> bool:
        kind, headers = seen.kind, seen.headers
        if kind == "searxng":
            if self.searxng_key is None:
                return True
            basic = base64.b64encode(f"{self.searxng_user}:{self.searxng_key}".encode()).decode()
            return headers.get("authorization") in (
                f"Bearer {self.searxng_key}",
                f"Basic {basic}",
            )
        if kind == "brave":
            return headers.get("x-subscription-token") == self.keys["brave"]
        if kind == "tavily":
            return headers.get("authorization") == f"Bearer {self.keys['tavily']}"
        return headers.get("x-api-key") == self.keys["serper"]

    def _unauthorised(self, kind: str) -> tuple[int, Any]:
        if kind == "brave":
            return 401, {
                "type": "ErrorResponse",
                "error": {
                    "status": 401,
                    "code": "SUBSCRIPTION_TOKEN_INVALID",
                    "detail": "The provided subscription token is invalid.",
                },
            }
        if kind == "tavily":
            return 401, {"detail": {"error": "Unauthorized: missing or invalid API key."}}
        if kind == "serper":
            return 403, {"message": "Unauthorized.", "statusCode": 403}
        return 401, {"error": "unauthorized"}

    def results(self, seen: Seen) -> Any:
        pages = self.pages[seen.kind]
        if seen.kind == "searxng":
            query = seen.query.get("q", [""])[0]
            return {
                "query": query,
                "number_of_results": len(pages),
                "results": [
                    {
                        "url": page["url"],
                        "title": page["title"],
                        "content": page["snippet"],
                        "publishedDate": _iso(page.get("published")),
                        "engine": "duckduckgo",
                        "engines": ["duckduckgo"],
                        "score": round(1.0 / (i + 1), 3),
                        "category": "general",
                    }
                    for i, page in enumerate(pages)
                ],
                "answers": [],
                "suggestions": [],
            }
        if seen.kind == "brave":
            count = int(seen.query.get("count", ["20"])[0])
            items = []
            for page in pages[:count]:
                item: dict[str, Any] = {
                    "type": "search_result",
                    "title": page["title"],
                    "url": page["url"],
                    "description": page["snippet"],
                    "language": "en",
                }
                if page.get("published"):
                    item["page_age"] = _iso(page["published"])
                    item["age"] = _pretty(page["published"])
                items.append(item)
            return {"type": "search", "query": {"original": seen.query.get("q", [""])[0]},
                    "web": {"type": "search", "results": items}}  # fmt: skip
        body = seen.body if isinstance(seen.body, dict) else {}
        if seen.kind == "tavily":
            count = int(body.get("max_results", 5))
            return {
                "query": body.get("query"),
                "results": [
                    {
                        "title": page["title"],
                        "url": page["url"],
                        "content": page["snippet"],
                        "score": round(0.9 - i * 0.1, 3),
                        "raw_content": None,
                        **({"published_date": page["published"]} if page.get("published") else {}),
                    }
                    for i, page in enumerate(pages[:count])
                ],
                "response_time": 0.42,
            }
        count = int(body.get("num", 10))
        return {
            "searchParameters": {"q": body.get("q"), "type": "search", "engine": "google"},
            "organic": [
                {
                    "title": page["title"],
                    "link": page["url"],
                    "snippet": page["snippet"],
                    "position": i + 1,
                    **({"date": _pretty(page["published"])} if page.get("published") else {}),
                }
                for i, page in enumerate(pages[:count])
            ],
            "credits": 1,
        }

    def answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes, float]:
        kind = seen.kind
        if kind not in KINDS:
            return 404, {}, json.dumps({"message": "no such API"}).encode(), 0.0
        with self.lock:
            scripted = self.plan[kind].pop(0) if self.plan[kind] else None
        delay = self.delay[kind]
        if scripted is None:
            scripted = Answer(status=500, body={"error": "service down"}) if kind in self.down \
                else Answer()  # fmt: skip
        delay = max(delay, scripted.delay)
        headers = dict(scripted.headers)
        if scripted.echo:
            dump = json.dumps(seen.headers)
            body: Any = {"error": {"message": f"internal error handling request {dump}"}}
            return 500, headers, json.dumps(body).encode(), delay
        if scripted.raw is not None:
            return scripted.status, headers, scripted.raw, delay
        if scripted.status == 200 and not self._authorised(seen):
            status, body = self._unauthorised(kind)
            return status, headers, json.dumps(body).encode(), delay
        body = self.results(seen) if scripted.body is None else scripted.body
        return scripted.status, headers, json.dumps(body).encode(), delay


def serve(**options: Any) -> Iterator[FakeSearch]:
    fake = FakeSearch(**options)
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.stop.set()
        fake.httpd.shutdown()
        fake.httpd.server_close()
        fake.thread.join(5)


def backend_settings(fake: FakeSearch, kind: str, **overrides: Any) -> dict[str, Any]:
    """Settings (as a mapping) for backend `kind` pointed at `fake`: its key, no rate limit,
    no retries and short backoff unless `overrides` say otherwise."""
    settings: dict[str, Any] = {
        "kind": kind,
        "base_url": fake.base(kind),
        "requests_per_second": None,
        "max_retries": 0,
        "backoff": 0.01,
        "timeout": 5.0,
    }
    if kind != "searxng":
        settings["api_key"] = fake.keys[kind]
    settings.update(overrides)
    return settings


_SSL: list[Any] = []


def client() -> Any:
    """An `httpx.AsyncClient` for the tests (one SSL context for all: loading the CA bundle
    is what makes a new client slow)."""
    import httpx

    if not _SSL:
        _SSL.append(httpx.create_ssl_context())
    return httpx.AsyncClient(verify=_SSL[0])
