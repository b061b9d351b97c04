"""A real HTTP server on 127.0.0.1 playing the pet store of `fixtures/petstore.json`.

It checks auth the way the spec declares it (bearer token; API key in the `X-API-Key` header
for DELETE; `api_key` query parameter for findByTags) and records every request it gets.
Pet 500 answers 500 (echoing the Authorization header, as a careless server would), pet 7777
answers after `slow` seconds.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SECRET = "s3cr3t-T0KEN-9f2a"


@dataclass
class Seen:
    method: str
    raw_path: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class PetStore:
    def __init__(self, secret: str = SECRET, slow: float = 3.0) -> None:
        self.secret = secret
        self.slow = slow
        self.requests: list[Seen] = []
        self.pets: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Rex", "tag": "dog", "status": "available"},
            2: {"id": 2, "name": "Tom", "tag": "cat", "status": "sold"},
        }
        self.stop = threading.Event()
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command, self.path, parts.path, parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )  # fmt: skip
                store.requests.append(seen)
                status, body = store.answer(seen)
                if status == 0:  # slow: answer late (or never, once stopped)
                    if store.stop.wait(store.slow):
                        return
                    status, body = 200, {"late": True}
                payload = b"" if body is None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    if payload:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def _bearer(self, seen: Seen) -> bool:
        return seen.headers.get("authorization") == f"Bearer {self.secret}"

    def answer(self, seen: Seen) -> tuple[int, Any]:
        path, method = seen.path, seen.method
        if not path.startswith("/v1/"):
            return 404, {"message": "not under /v1"}
        path = path[3:]
        if path == "/store/inventory" and method == "GET":
            counts: dict[str, int] = {}
            for known in self.pets.values():
                counts[known["status"]] = counts.get(known["status"], 0) + 1
            return 200, counts
        if path == "/pets/findByTags" and method == "GET":
            if seen.query.get("api_key") != [self.secret]:
                return 401, {"message": "api_key query parameter missing or wrong"}
            tags = set(seen.query.get("tags", []))
            return 200, [p for p in self.pets.values() if p.get("tag") in tags]
        owner = re.fullmatch(r"/owners/([^/]+)/pets", path)
        if owner and method == "GET":
            if not self._bearer(seen):
                return 401, {"message": "bearer token missing or wrong"}
            return 200, {"owner_raw": owner.group(1), "pets": []}
        pet = re.fullmatch(r"/pets/(\d+)", path)
        if pet and method == "DELETE":
            if seen.headers.get("x-api-key") != self.secret:
                return 401, {"message": "X-API-Key missing or wrong"}
            return (204, None) if self.pets.pop(int(pet.group(1)), None) else (404, None)
        if not self._bearer(seen):
            return 401, {"message": "bearer token missing or wrong"}
        if path == "/pets" and method == "GET":
            pets = [p for p in self.pets.values() if p["status"] in seen.query.get("status", [])
                    or "status" not in seen.query]  # fmt: skip
            limit = int(seen.query.get("limit", ["20"])[0])
            return 200, pets[:limit]
        if path == "/pets" and method == "POST":
            body = seen.body or {}
            if not isinstance(body.get("name"), str):
                return 400, {"message": "name is required"}
            new = {"id": max(self.pets) + 1, "status": "available", **body}
            self.pets[new["id"]] = new
            return 201, new
        if pet and method == "GET":
            number = int(pet.group(1))
            if number == 500:
                return 500, {"message": "database down for " + seen.headers["authorization"]}
            if number == 7777:
                return 0, None
            if number not in self.pets:
                return 404, {"code": 404, "message": f"pet {number} not found"}
            return 200, self.pets[number]
        if pet and method == "PUT":
            number = int(pet.group(1))
            self.pets[number] = {"id": number, "status": "available", **(seen.body or {})}
            return 200, self.pets[number]
        return 405, {"message": f"{method} {path} is not allowed"}


def serve(**options: Any) -> Iterator[PetStore]:
    store = PetStore(**options)
    store.thread.start()
    try:
        yield store
    finally:
        store.stop.set()
        store.httpd.shutdown()
        store.httpd.server_close()
        store.thread.join(5)
