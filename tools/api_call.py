"""Calling an imported tool's HTTP endpoint: the call plan, the API's configuration, auth.

Secrets (`ApiConfig.token`, or the `WIDESEEK_TOOL_<API>_TOKEN` variable) are added to a copy
of the request inside the transport, so the request httpx logs, the URL an observation cites
and every error message only ever hold the request without them; response text and error
excerpts have the secret's value masked in case a server echoes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tools.base import Observation, Tool, ToolError
from tools.cards import ToolCard
from tools.schema_args import arguments

__all__ = [
    "READ_ONLY_METHODS",
    "ApiConfig",
    "ApiTool",
    "AuthScheme",
    "BodySpec",
    "HttpCall",
    "ParamSpec",
    "args_hash",
    "secret_env_name",
]

logger = logging.getLogger(__name__)

AuthKind = Literal["bearer", "header", "query"]
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MASK = "***"


def secret_env_name(api: str) -> str:
    """The environment variable that holds the secret of API `api`."""
    return f"WIDESEEK_TOOL_{re.sub(r'[^A-Z0-9]+', '_', api.upper()).strip('_')}_TOKEN"


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/") if value else value


class ApiConfig(BaseModel):
    """How to call an imported API (`[tools.apis.<name>]` in wideseek.toml, or given at
    import). Everything but `token` is stored in the tool catalogue."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    base_url: str | None = Field(
        None,
        description="overrides the spec's first `servers` URL; functions: POST to <url>/<name>",
    )
    auth: Literal["spec", "none", "bearer", "header", "query"] = Field(
        "spec",
        description="spec: as each operation's security says; bearer: Authorization header; "
        "header / query: an API key in the header or query parameter `key_name`",
    )
    key_name: str | None = Field(
        None, description="API-key header or query parameter (default: from the spec)"
    )
    token: SecretStr | None = Field(None, description="the bearer token or API key")
    token_env: str | None = Field(
        None, description="variable holding the secret (default WIDESEEK_TOOL_<API>_TOKEN)"
    )
    timeout: float = Field(30.0, gt=0)
    max_chars: int = Field(8000, ge=200, description="characters of a response kept")
    cache_ttl: float | None = Field(
        None, ge=0, description="GET results: seconds cached (None: the cache's default)"
    )
    endpoints: dict[str, str] = Field(
        default_factory=dict, description="function lists: tool name -> URL to POST to"
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        return {name: str(_http_url(url)) for name, url in value.items()}

    def secret(self, api: str, environ: Mapping[str, str] | None = None) -> SecretStr | None:
        """The secret: `token`, else the variable `token_env` (or WIDESEEK_TOOL_<API>_TOKEN)."""
        if self.token is not None and self.token.get_secret_value():
            return self.token
        value = (os.environ if environ is None else environ).get(
            self.token_env or secret_env_name(api), ""
        )
        return SecretStr(value) if value else None

    def merged(self, override: ApiConfig | None) -> ApiConfig:
        """This configuration with the fields `override` sets explicitly replacing its own."""
        if override is None:
            return self
        return self.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})

    def stored(self) -> dict[str, Any]:
        """What may be written to disk: everything but the secret."""
        return self.model_dump(mode="json", exclude={"token"}, exclude_unset=True)


class AuthScheme(BaseModel):
    """One way to authenticate: a bearer token, or an API key in header/query `name`."""

    kind: AuthKind
    name: str = ""


class ParamSpec(BaseModel):
    """Argument `arg` goes to the request as `name` in the path, query or a header. A list
    is repeated in the query (`explode`) or joined with commas (otherwise, and in paths and
    headers)."""

    arg: str
    name: str
    location: Literal["path", "query", "header"]
    explode: bool = True


class BodySpec(BaseModel):
    """The JSON body: the arguments `fields` (flat), the argument `key`, or all of them."""

    mode: Literal["flat", "key", "all"]
    key: str = ""
    fields: list[str] = Field(default_factory=list)


class HttpCall(BaseModel):
    """How to call one operation. `path` is relative to the base URL, or an absolute URL."""

    model_config = ConfigDict(extra="forbid")

    method: str
    path: str
    params: list[ParamSpec] = Field(default_factory=list)
    body: BodySpec | None = None
    auth: list[AuthScheme] = Field(default_factory=list, description="alternatives, first wins")
    auth_required: bool = False


class _AuthTransport(httpx.AsyncBaseTransport):
    """Sends a copy of each request with the secret added; the caller's request (what httpx
    logs and attaches to errors and responses) never holds it."""

    def __init__(self, scheme: AuthScheme | None, secret: SecretStr | None) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._scheme = scheme
        self._secret = secret

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._scheme is None or self._secret is None:
            return await self._inner.handle_async_request(request)
        value = self._secret.get_secret_value()
        headers = httpx.Headers(request.headers)
        url = request.url
        if self._scheme.kind == "bearer":
            headers["Authorization"] = f"Bearer {value}"
        elif self._scheme.kind == "header":
            headers[self._scheme.name] = value
        else:
            url = url.copy_add_param(self._scheme.name, value)
        signed = httpx.Request(
            request.method, url, headers=headers, stream=request.stream,
            extensions=request.extensions,
        )  # fmt: skip
        return await self._inner.handle_async_request(signed)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _mask(text: str, secret: SecretStr | None) -> str:
    value = secret.get_secret_value() if secret is not None else ""
    return text.replace(value, _MASK) if len(value) >= 3 else text


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… (clipped: {len(text) - limit} more characters)"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _wire(value: Any) -> str | list[str]:
    """A query value: a list stays a list (the parameter is repeated)."""
    return [_scalar(item) for item in value] if isinstance(value, list) else _scalar(value)


def _joined(value: Any) -> str:
    """A value as one string: a list joined with commas (OpenAPI's `simple` style)."""
    return ",".join(_scalar(item) for item in value) if isinstance(value, list) else _scalar(value)


def args_hash(values: Mapping[str, Any]) -> str:
    """A short stable hash of call arguments (the variable part of an observation's id)."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class ApiTool(Tool):
    """An imported tool. `tools.catalogue.build_tool` makes one subclass per tool (its name,
    description, `Args` and card are class attributes, as for every `Tool`)."""

    tool_card: ClassVar[ToolCard]
    call: ClassVar[HttpCall | None] = None
    api: ClassVar[str] = ""

    def __init__(self, config: ApiConfig, secret: SecretStr | None = None) -> None:
        self.config = config
        self._secret = secret

    def __repr__(self) -> str:
        base = self.config.base_url or (self.call.path if self.call else "no endpoint")
        return f"<{type(self).__name__} {self.name!r} api={self.api!r} {base}>"

    @classmethod
    def card(cls) -> ToolCard:
        return cls.tool_card.model_copy(deep=True)

    def cache_scope(self) -> str:
        return self.config.base_url or ""

    def _scheme(self) -> AuthScheme | None:
        assert self.call is not None
        kind = self.config.auth
        if kind == "none":
            return None
        if kind == "bearer":
            return AuthScheme(kind="bearer")
        if kind in ("header", "query"):
            default = next((s.name for s in self.call.auth if s.kind == kind), "")
            name = (
                self.config.key_name or default or ("X-API-Key" if kind == "header" else "api_key")
            )
            return AuthScheme(kind=kind, name=name)
        if not self.call.auth:
            return None
        scheme = self.call.auth[0]
        if self.config.key_name and scheme.kind != "bearer":
            scheme = AuthScheme(kind=scheme.kind, name=self.config.key_name)
        return scheme

    def _url(self, values: dict[str, Any]) -> str:
        assert self.call is not None
        path = self.call.path
        for param in self.call.params:
            if param.location == "path":
                if param.arg not in values:
                    raise ToolError(f"tool {self.name!r}: path parameter {param.arg!r} is missing")
                path = path.replace(
                    "{" + param.name + "}", quote(_joined(values[param.arg]), safe="")
                )
        if path.startswith(("http://", "https://")):
            return path
        if not self.config.base_url:
            raise ToolError(
                f"tool {self.name!r} has no base URL: set base_url in [tools.apis.{self.api}] "
                "or import it with --base-url"
            )
        return self.config.base_url + ("" if path.startswith("/") else "/") + path

    def _request(self, values: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str], Any]:
        assert self.call is not None
        query: dict[str, Any] = {}
        headers: dict[str, str] = {"Accept": "application/json, */*;q=0.5"}
        for param in self.call.params:
            if param.arg not in values or values[param.arg] is None:
                continue
            if param.location == "query":
                value = values[param.arg]
                query[param.name] = _wire(value) if param.explode else _joined(value)
            elif param.location == "header":
                headers[param.name] = _joined(values[param.arg])
        body: Any = None
        spec = self.call.body
        if spec is not None and spec.mode == "all":
            body = values
        elif spec is not None and spec.mode == "key":
            body = values.get(spec.key)
        elif spec is not None:
            body = {k: values[k] for k in spec.fields if k in values} or None
        return self._url(values), query, headers, body

    async def run(self, args: BaseModel) -> list[Observation]:
        if self.call is None:
            raise ToolError(
                f"tool {self.name!r} has no endpoint: it was imported from a function list; "
                f"set [tools.apis.{self.api}] endpoints.{self.name} = URL (or base_url)"
            )
        values = arguments(args)
        url, query, headers, body = self._request(values)
        scheme = self._scheme()
        if scheme is not None and self._secret is None:
            if self.call.auth_required or self.config.auth != "spec":
                env = self.config.token_env or secret_env_name(self.api)
                raise ToolError(
                    f"tool {self.name!r} needs a secret ({scheme.kind}): set {env} or "
                    f"[tools.apis.{self.api}] token"
                )
            scheme = None
        method = self.call.method.upper()
        timeout = self.config.timeout
        transport = _AuthTransport(scheme, self._secret)
        limit = max(1_000_000, self.config.max_chars * 8)
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
            request = client.build_request(
                method, url, params=query or None, headers=headers, json=body
            )
            shown = str(request.url)
            logger.debug("tool %s: %s %s", self.name, method, shown)
            try:
                response = await client.send(request, stream=True)
                try:
                    raw, complete = await _read(response, limit)
                finally:
                    await response.aclose()
            except httpx.TimeoutException:
                raise ToolError(
                    f"tool {self.name!r}: {method} {shown} timed out after {timeout:g} s"
                ) from None
            except httpx.HTTPError as error:
                reason = _mask(str(error), self._secret) or type(error).__name__
                raise ToolError(f"tool {self.name!r}: {method} {shown} failed: {reason}") from None
        text = _mask(_decode(raw, response, complete), self._secret)
        if not 200 <= response.status_code < 300:
            excerpt = " ".join(text.split())[:200]
            raise ToolError(
                f"tool {self.name!r}: {method} {shown} returned HTTP {response.status_code}"
                + (f": {excerpt}" if excerpt else "")
            )
        return [
            Observation(
                source_id=f"api:{self.name}:{args_hash(values)}",
                url=shown,
                title=f"{self.name}: {method} {self.call.path}",
                text=_clip(text, self.config.max_chars) or f"(empty {response.status_code} reply)",
            )
        ]


async def _read(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], False
    return b"".join(chunks), True


def _decode(raw: bytes, response: httpx.Response, complete: bool) -> str:
    text = raw.decode(response.charset_encoding or "utf-8", errors="replace")
    if complete and ("json" in response.headers.get("content-type", "") or text[:1] in "[{"):
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return text
