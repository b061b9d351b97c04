"""A real HTTP server on 127.0.0.1 that plays an OpenAI-compatible server, for tests.

It records every request and answers with whatever the test's `script` returns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    sse: list[str | threading.Event] | None = None
    """`data:` payloads, written one by one; an Event in the list holds the stream there until
    it is set (to see what a client does with the part it has)."""


Script = Callable[[Request], Reply]


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: Script = lambda req: Reply(body=chat("hello"))
        self.stop = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                req = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake._lock:
                    fake.requests.append(req)
                reply = fake.script(req)
                if reply.delay and fake.stop.wait(reply.delay):
                    return
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if reply.sse is not None:
                        self.send_header("Content-Type", "text/event-stream")
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for data in reply.sse:
                            if isinstance(data, threading.Event):
                                while not data.wait(0.05):
                                    if fake.stop.is_set():
                                        return
                                continue
                            self.wfile.write(f"data: {data}\n\n".encode())
                            self.wfile.flush()
                        return
                    payload = (
                        reply.body.encode()
                        if isinstance(reply.body, str)
                        else json.dumps(reply.body).encode()
                    )
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def chat_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


def serve() -> Iterator[FakeOpenAI]:
    """Start a FakeOpenAI server; stop it when the generator is closed."""
    fake = FakeOpenAI()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.stop.set()
        fake.httpd.shutdown()
        fake.httpd.server_close()
        fake.thread.join(5)


def chat(
    content: str | None,
    *,
    usage: tuple[int, int] | None = (11, 7),
    finish: str = "stop",
    tool_args: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_args is not None:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "output", "arguments": tool_args},
            }
        ]
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    return body


def stream_chunk(content: str | None = None, *, finish: str | None = None) -> str:
    """One streamed `chat.completion.chunk` (an SSE `data:` payload) carrying `content`."""
    delta = {"content": content} if content is not None else {}
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def chat_reply(req: Request, content: str) -> Reply:
    """`content` as the server would answer `req`: one completion, or, when the request asks for
    a stream (`"stream": true`), server-sent chunks of a word each."""
    if not req.body.get("stream"):
        return Reply(body=chat(content))
    words = content.split(" ")
    pieces = [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]
    return Reply(sse=[*map(stream_chunk, pieces), stream_chunk(finish="stop"), "[DONE]"])


def error(status: int, message: str, **headers: str) -> Reply:
    return Reply(
        status=status,
        body={"error": {"message": message, "type": "invalid_request_error"}},
        headers=headers,
    )
