"""The `openai` backend: any OpenAI-compatible chat server (vLLM, llama.cpp server, Ollama).

Plain async httpx, no SDK. Retries 429, 5xx, timeouts and connection errors with exponential
backoff (jittered, honouring `Retry-After`); anything else fails at once with the server's own
message. Errors are one line, name the endpoint and status, and never contain the API key.

Structured output (when `_generate` gets a JSON schema) uses one of four modes:

- ``json_schema``: ``response_format={"type": "json_schema", ...}`` (vLLM, OpenAI);
- ``json_object``: ``response_format={"type": "json_object", "schema": ...}`` (llama-cpp-python's
  server, which answers HTTP 500 to ``json_schema`` but compiles this schema into a grammar);
- ``tool_call``: one function tool whose parameters are the schema, forced by a named
  ``tool_choice``; the completion's text is the call's arguments;
- ``prompt``: no constraint; the schema is appended to the system prompt (repair does the rest).

``auto`` probes them in that order on the first structured call to an endpoint and remembers the
first that works for that base URL and model (for the life of the process).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar, Literal, get_args

import httpx

from agent.llm.base import ChatModel, Completion, Message, ModelError, Usage
from agent.llm.repair import strip_think
from retriever.http_client import (
    auth_headers,
    backoff_delay,
    clean_message,
    retry_after_seconds,
    server_message,
)

StructuredMode = Literal["auto", "json_schema", "json_object", "tool_call", "prompt"]
ConcreteMode = Literal["json_schema", "json_object", "tool_call", "prompt"]

PROBE_ORDER: tuple[ConcreteMode, ...] = ("json_schema", "json_object", "tool_call", "prompt")
_RETRY_STATUSES = frozenset({408, 409, 429})
# While probing a structured mode these mean "this server does not support it": try the next.
# 502/503/504 are gateway or overload trouble and are retried as usual.
_PROBE_REJECT_STATUSES = frozenset({400, 415, 422, 500, 501})
_NAME_RE = re.compile(r"[^a-zA-Z0-9_-]+")


class _HTTPStatusError(Exception):
    """Internal: a non-success status that retrying did not (or could not) fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class OpenAIChatModel(ChatModel):
    """A `ChatModel` over the OpenAI chat-completions API.

    `client` may be a shared `httpx.AsyncClient` for connection reuse; it is then not closed by
    `aclose()`. Full URLs are used, so the client needs no `base_url`.
    """

    _detected: ClassVar[dict[tuple[str, str], ConcreteMode]] = {}

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        structured_mode: StructuredMode = "auto",
        extra_body: dict[str, Any] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if structured_mode not in get_args(StructuredMode):
            raise ValueError(
                f"structured_mode must be one of {', '.join(get_args(StructuredMode))}, "
                f"not {structured_mode!r}"
            )
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.structured_mode: StructuredMode = structured_mode
        self.extra_body: dict[str, Any] = dict(extra_body or {})
        self.last_usage: Usage | None = None
        self.last_finish_reason: str | None = None
        self._api_key = api_key or None
        self._client = client
        self._owns_client = client is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probe_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"OpenAIChatModel(base_url={self.base_url!r}, model={self.model!r})"

    # ------------------------------------------------------------------ plumbing

    @property
    def detected_mode(self) -> ConcreteMode | None:
        """The structured mode in use: the configured one, or in `auto` the one detected for
        this endpoint (None until the first structured call)."""
        if self.structured_mode != "auto":
            return self.structured_mode
        return self._detected.get(self._key)

    @classmethod
    def forget_detected_modes(cls) -> None:
        """Clear the per-endpoint cache of detected structured modes."""
        cls._detected.clear()

    @property
    def _key(self) -> tuple[str, str]:
        return (self.base_url, self.model)

    def _headers(self) -> dict[str, str]:
        return auth_headers(self._api_key)

    def _bind_loop(self) -> None:
        """Pooled connections and locks belong to one event loop: a sync caller that runs
        `asyncio.run()` once per question gets fresh ones for each new loop."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            self._probe_lock = asyncio.Lock()
            if self._owns_client:
                self._client = None  # its connections died with the old loop
        self._loop = loop

    def _http(self) -> httpx.AsyncClient:
        self._bind_loop()
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout))
            self._owns_client = True
        return self._client

    async def aclose(self) -> None:
        same_loop = self._loop is asyncio.get_running_loop()
        client = self._client
        if client is not None and self._owns_client and not client.is_closed and same_loop:
            await client.aclose()  # a client from an earlier, closed loop is simply dropped
        if self._owns_client:
            self._client = None
        self._loop = None

    def _clean(self, text: str, limit: int = 300) -> str:
        return clean_message(text, self._api_key, limit)

    def _server_message(self, response: httpx.Response) -> str:
        return server_message(response, self._api_key)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        return backoff_delay(attempt, self.backoff, self.max_backoff, retry_after)

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        return retry_after_seconds(response)

    async def _post_json(
        self, path: str, payload: dict[str, Any], *, probing: bool = False
    ) -> dict[str, Any]:
        """POST with retries. Raises `_HTTPStatusError` for a final non-2xx, `ModelError` for
        exhausted retries on network trouble or an unreadable body."""
        url = f"{self.base_url}{path}"
        attempts = self.max_retries + 1
        last = ""
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                response = await self._http().post(url, json=payload, headers=self._headers())
            except httpx.TimeoutException as exc:
                last = f"timed out after {self.timeout:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__}: {self._clean(str(exc), 120)})"
            else:
                status = response.status_code
                if status < 300:
                    try:
                        data = response.json()
                    except ValueError:
                        raise ModelError(
                            f"POST {url}: HTTP {status} but the body is not JSON: "
                            f"{self._clean(response.text, 120)!r}"
                        ) from None
                    if not isinstance(data, dict):
                        raise ModelError(f"POST {url}: HTTP {status} but the body is not an object")
                    return data
                message = self._server_message(response)
                retryable = status in _RETRY_STATUSES or status >= 500
                if probing and status in _PROBE_REJECT_STATUSES:
                    retryable = False
                if not retryable:
                    raise _HTTPStatusError(status, message)
                last = f"HTTP {status}: {message}"
                retry_after = self._retry_after(response)
            if attempt + 1 < attempts:
                await asyncio.sleep(self._delay(attempt, retry_after))
        raise ModelError(f"POST {url} failed after {attempts} attempt(s): {last}")

    def _status_error(self, path: str, error: _HTTPStatusError) -> ModelError:
        return ModelError(f"POST {self.base_url}{path}: HTTP {error.status}: {error.message}")

    # ------------------------------------------------------------------ requests

    def _payload(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict() for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            payload["stop"] = list(stop)
        return payload

    @staticmethod
    def _schema_name(json_schema: dict[str, Any]) -> str:
        title = json_schema.get("title")
        name = _NAME_RE.sub("_", title).strip("_") if isinstance(title, str) else ""
        return (name or "output")[:64]

    def _apply_mode(
        self,
        payload: dict[str, Any],
        mode: ConcreteMode,
        json_schema: dict[str, Any],
    ) -> dict[str, Any]:
        payload = dict(payload)
        name = self._schema_name(json_schema)
        if mode == "json_schema":
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": json_schema, "strict": True},
            }
        elif mode == "json_object":
            payload["response_format"] = {"type": "json_object", "schema": json_schema}
        elif mode == "tool_call":
            payload["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": name,
                        "description": "Return the answer as this function's arguments.",
                        "parameters": json_schema,
                    },
                }
            ]
            payload["tool_choice"] = {"type": "function", "function": {"name": name}}
        else:  # prompt
            instruction = (
                "Reply with only a JSON object (no prose, no code fence) that follows this "
                "JSON schema:\n" + json.dumps(json_schema)
            )
            messages = list(payload["messages"])
            if messages and messages[0].get("role") == "system":
                first = dict(messages[0])
                first["content"] = f"{first['content']}\n\n{instruction}"
                messages[0] = first
            else:
                messages.insert(0, {"role": "system", "content": instruction})
            payload["messages"] = messages
        return payload

    def _parse_completion(
        self, data: dict[str, Any], mode: ConcreteMode | None, seconds: float
    ) -> Completion:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise ModelError(f"POST {self.base_url}/chat/completions: reply has no choices")
        choice = choices[0]
        message = choice.get("message") or {}
        text = message.get("content") or ""
        if mode == "tool_call":
            for call in message.get("tool_calls") or []:
                function = (call or {}).get("function") or {}
                arguments = function.get("arguments")
                if isinstance(arguments, dict):  # some servers send an object, not a string
                    arguments = json.dumps(arguments)
                if isinstance(arguments, str):
                    text = arguments
                    break
        return Completion(
            text=text,
            usage=self._usage(data.get("usage"), seconds),
            finish_reason=choice.get("finish_reason"),
        )

    @staticmethod
    def _usage(raw: Any, seconds: float) -> Usage:
        raw = raw if isinstance(raw, dict) else {}
        return Usage(
            prompt_tokens=int(raw.get("prompt_tokens") or 0),
            completion_tokens=int(raw.get("completion_tokens") or 0),
            calls=1,
            seconds=seconds,
        )

    @staticmethod
    def _is_json_reply(completion: Completion, mode: ConcreteMode, data: dict[str, Any]) -> bool:
        if mode == "tool_call":
            choices = data.get("choices") or [{}]
            calls = ((choices[0] or {}).get("message") or {}).get("tool_calls")
            if not calls:
                return False
        try:
            value = json.loads(strip_think(completion.text))
        except ValueError:
            return False
        return isinstance(value, dict | list)

    async def _chat(self, payload: dict[str, Any], mode: ConcreteMode | None) -> Completion:
        start = time.monotonic()
        path = "/chat/completions"
        try:
            data = await self._post_json(path, payload)
        except _HTTPStatusError as error:
            raise self._status_error(path, error) from None
        return self._parse_completion(data, mode, time.monotonic() - start)

    async def _generate(
        self,
        messages: Sequence[Message],
        *,
        json_schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        payload = self._payload(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
        payload.update(self.extra_body)
        if json_schema is None:
            return await self._chat(payload, None)
        mode = self.detected_mode
        if mode is not None:
            return await self._chat(self._apply_mode(payload, mode, json_schema), mode)
        self._bind_loop()
        async with self._probe_lock:
            mode = self.detected_mode  # another task may have finished probing meanwhile
            if mode is not None:
                return await self._chat(self._apply_mode(payload, mode, json_schema), mode)
            return await self._probe(payload, json_schema)

    async def _probe(self, payload: dict[str, Any], json_schema: dict[str, Any]) -> Completion:
        """Try each structured mode in turn; remember and return the first that works."""
        path = "/chat/completions"
        start = time.monotonic()
        spent = Usage()
        rejections: list[str] = []
        for mode in PROBE_ORDER:
            attempt = self._apply_mode(payload, mode, json_schema)
            if mode == "prompt":
                result = await self._chat(attempt, mode)
                self._detected[self._key] = mode
                break
            try:
                data = await self._post_json(path, attempt, probing=True)
            except _HTTPStatusError as error:
                if error.status not in _PROBE_REJECT_STATUSES:
                    raise self._status_error(path, error) from None
                rejections.append(f"{mode}: HTTP {error.status}")
                continue
            result = self._parse_completion(data, mode, 0.0)
            if self._is_json_reply(result, mode, data):
                self._detected[self._key] = mode
                break
            if result.finish_reason == "length":
                # Cut off mid-object: inconclusive. Return it (repair may cope), decide later.
                break
            spent.add(result.usage)
            rejections.append(f"{mode}: reply was not JSON")
        else:  # pragma: no cover - "prompt" always ends the loop
            raise ModelError(f"POST {self.base_url}{path}: no structured mode worked")
        spent.add(result.usage)
        spent.calls = max(1, spent.calls)
        spent.seconds = time.monotonic() - start
        result.usage = spent
        return result

    # ------------------------------------------------------------------ streaming

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
    ) -> AsyncIterator[str]:
        """Yield text deltas (server-sent events). Afterwards `last_usage` holds the usage: the
        server's own figures when it honours `stream_options.include_usage`, otherwise the
        number of content chunks as an estimate of completion tokens."""
        payload = self._payload(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)
        payload.update(self.extra_body)
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
        url = f"{self.base_url}/chat/completions"
        self.last_usage = None
        self.last_finish_reason = None
        start = time.monotonic()
        attempts = self.max_retries + 1
        last = ""
        attempt = 0
        dropped_options = False
        while attempt < attempts:
            retry_after: float | None = None
            chunks = 0
            usage_raw: Any = None
            started = False
            try:
                async with self._http().stream(
                    "POST", url, json=payload, headers=self._headers()
                ) as response:
                    status = response.status_code
                    if status >= 300:
                        await response.aread()
                        message = self._server_message(response)
                        if (
                            status in (400, 422)
                            and not dropped_options
                            and "stream_options" in message
                        ):
                            payload.pop("stream_options", None)  # a server that rejects it
                            dropped_options = True
                            continue
                        if status not in _RETRY_STATUSES and status < 500:
                            raise ModelError(f"POST {url}: HTTP {status}: {message}")
                        last = f"HTTP {status}: {message}"
                        retry_after = self._retry_after(response)
                    else:
                        started = True
                        async for data in _sse_data(response):
                            if data == "[DONE]":
                                break
                            try:
                                event = json.loads(data)
                            except ValueError:
                                continue
                            if not isinstance(event, dict):
                                continue
                            if "error" in event:
                                raise ModelError(
                                    f"POST {url}: stream error: "
                                    f"{self._clean(json.dumps(event['error']))}"
                                )
                            if event.get("usage"):
                                usage_raw = event["usage"]
                            for choice in event.get("choices") or []:
                                delta = (choice or {}).get("delta") or {}
                                text = delta.get("content")
                                if choice.get("finish_reason"):
                                    self.last_finish_reason = choice["finish_reason"]
                                if text:
                                    chunks += 1
                                    yield text
                        usage = self._usage(usage_raw, time.monotonic() - start)
                        if usage_raw is None:
                            usage.completion_tokens = chunks
                        self.last_usage = usage
                        return
            except httpx.TimeoutException as exc:
                if started:
                    raise ModelError(f"POST {url}: stream stalled for {self.timeout:g} s") from exc
                last = f"timed out after {self.timeout:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                if started:
                    raise ModelError(
                        f"POST {url}: stream broke off ({type(exc).__name__})"
                    ) from exc
                last = f"connection failed ({type(exc).__name__}: {self._clean(str(exc), 120)})"
            attempt += 1
            if attempt < attempts:
                await asyncio.sleep(self._delay(attempt - 1, retry_after))
        raise ModelError(f"POST {url} failed after {attempts} attempt(s): {last}")

    # ------------------------------------------------------------------ checks

    async def list_models(self) -> list[str]:
        """Model ids the server offers (GET /models). Raises `ModelError` when it cannot say."""
        url = f"{self.base_url}/models"
        try:
            response = await self._http().get(
                url, headers=self._headers(), timeout=min(self.timeout, 10.0)
            )
        except httpx.TimeoutException:
            raise ModelError(f"GET {url}: timed out") from None
        except httpx.TransportError as exc:
            raise ModelError(f"GET {url}: connection failed ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise ModelError(
                f"GET {url}: HTTP {response.status_code}: {self._server_message(response)}"
            )
        try:
            data = response.json()
        except ValueError:
            raise ModelError(f"GET {url}: the body is not JSON") from None
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ModelError(f"GET {url}: no model list in the reply")
        return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]

    async def check(self) -> None:
        """Fail fast when the server is unreachable (GET /models)."""
        try:
            await self.list_models()
        except ModelError as error:
            raise ModelError(f"model server {self.base_url} is not usable: {error}") from None

    async def health(self) -> bool:
        """True when GET /models answers with a model list."""
        try:
            await self.list_models()
        except ModelError:
            return False
        return True


async def _sse_data(response: httpx.Response) -> AsyncIterator[str]:
    """The `data:` payloads of a server-sent-event stream (multi-line events joined)."""
    lines: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if lines:
                yield "\n".join(lines)
                lines = []
            continue
        if line.startswith(":"):
            continue
        if line.startswith("data:"):
            value = line[5:]
            lines.append(value[1:] if value.startswith(" ") else value)
    if lines:
        yield "\n".join(lines)
