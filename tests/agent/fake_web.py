"""A tiny web on 127.0.0.1 for the agent's web-research tests: a SearxNG JSON search endpoint
whose results point at pages on the same server, and the pages themselves.

`pages` maps a path to (title, html body). `/search?q=...&format=json` returns every page whose
text shares a word with the query, best overlap first, as SearxNG does (`results`: url, title,
content, publishedDate). `fail_search = True` makes the search answer 500 (a backend outage).
Every request is recorded in `requests` (path and query string).
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_WORD = re.compile(r"[a-z0-9]+")
_TAG = re.compile(r"<[^>]+>")


def page(title: str, *paragraphs: str, published: str = "2026-11-20") -> tuple[str, str, str]:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    document = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><nav><a href='/'>Home</a></nav><main><article><h1>{html.escape(title)}"
        f"</h1>{body}</article></main><footer>Copyright</footer></body></html>"
    )
    return title, document, published


class FakeWeb:
    def __init__(self, pages: dict[str, tuple[str, str, str]]) -> None:
        self.pages = pages
        self.requests: list[str] = []
        self.fail_search = False
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                web.requests.append(self.path)
                if parts.path == "/search":
                    if web.fail_search:
                        self._send(500, b'{"error": "engine down"}', "application/json")
                        return
                    query = parse_qs(parts.query).get("q", [""])[0]
                    body = json.dumps({"query": query, "results": web.search(query)})
                    self._send(200, body.encode(), "application/json")
                    return
                found = web.pages.get(parts.path)
                if found is None:
                    self._send(404, b"<html><body>not found</body></html>", "text/html")
                    return
                self._send(200, found[1].encode("utf-8"), "text/html; charset=utf-8")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def search(self, query: str) -> list[dict[str, Any]]:
        wanted = set(_WORD.findall(query.lower()))
        scored = []
        for path, (title, document, published) in self.pages.items():
            text = html.unescape(_TAG.sub(" ", document))
            overlap = len(wanted & set(_WORD.findall(text.lower())))
            if overlap:
                snippet = " ".join(text.split())[:300]
                scored.append((overlap, path, title, snippet, published))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [
            {
                "url": self.base_url + path,
                "title": title,
                "content": snippet,
                "publishedDate": published,
                "engine": "fake",
            }
            for _, path, title, snippet, published in scored
        ]

    @contextmanager
    def running(self) -> Iterator[FakeWeb]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
