"""Fetch one web page safely: checked hosts, pinned addresses, bounded size and time.

`fetch_url(url, policy, limits)` GETs a URL and returns a `FetchedPage`. Every hop is checked by
`tools.web.safety.check_url` before anything is sent to it, so a redirect from a public page to
http://169.254.169.254/ or to a name that resolves to 10.0.0.5 is refused:

- Redirects are followed by hand (the client never follows them): at most
  `FetchLimits.max_redirects`; relative `Location`s are resolved against the hop that sent them.
- DNS-rebinding: the request goes to an address `check_url` checked (the URL's host replaced by
  it), with the real name in the `Host` header and, for https, as the TLS server name through
  httpcore's `sni_hostname` request extension, which is also the name the certificate is
  verified against. The client made here ignores proxy environment variables (a proxy would
  resolve the name itself) and keeps no idle connections (a TLS connection opened for one name
  must not carry a request for another name on the same address). A caller passing its own
  `client` should configure it the same way (`trust_env=False`, no keep-alive).
- Size: a `Content-Length` over `FetchLimits.max_bytes` is refused before the body is read; a
  body that streams past the cap (chunked, or lying about its length) is cut off. gzip/deflate
  bodies are decompressed here, bounded by the same cap (a decompression bomb stops at the cap).
- Time: the whole fetch (every DNS lookup, hop and body byte) runs under one
  `asyncio.timeout(FetchLimits.timeout)`, so a server that dribbles a byte a second is cut off
  at the deadline, not only when a single read stalls.
- Type: binary media (images, audio, video, archives, fonts, executables,
  application/octet-stream) are refused, by the `Content-Type` and by sniffing the first bytes
  (magic numbers, NUL bytes) when the header is missing or lies. A PDF is recognised by its
  `%PDF-` signature even when served as application/octet-stream or mislabelled.

Errors: `UnsafeUrlError` (from `check_url`) for a refused address; `FetchError` (subclasses
`FetchTimeoutError`, `ContentTooLargeError`, `UnsupportedContentError`, `TooManyRedirectsError`)
for everything else, each with a one-line message.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.metadata
import ssl
import zlib
from dataclasses import dataclass, field

import httpx

from retriever.http_client import clean_message, retry_after_seconds
from tools.web.safety import ResolvedTarget, Resolver, UnsafeUrlError, UrlPolicy, check_url

__all__ = [
    "ALLOWED_CONTENT_TYPES",
    "DEFAULT_USER_AGENT",
    "ContentTooLargeError",
    "FetchError",
    "FetchLimits",
    "FetchTimeoutError",
    "FetchedPage",
    "TooManyRedirectsError",
    "UnsupportedContentError",
    "fetch_url",
    "media_type",
    "sniff_binary",
]


def _version() -> str:
    try:
        return importlib.metadata.version("wideseek")
    except importlib.metadata.PackageNotFoundError:
        return "0"


DEFAULT_USER_AGENT = f"wideseek/{_version()} (+research assistant)"
MAX_RETRY_AFTER = 5.0
"""A page answering 429/503 with a Retry-After up to this many seconds is fetched once more."""

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PDF_TYPE = "application/pdf"
TEXT_TYPES = frozenset(
    {
        "text/plain",
        "text/markdown",
        "text/x-markdown",
        "text/csv",
        "application/json",
        "application/ld+json",
        "application/xml",
        "text/xml",
        "application/rss+xml",
        "application/atom+xml",
    }
)
ALLOWED_CONTENT_TYPES = HTML_TYPES | TEXT_TYPES | {PDF_TYPE}
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
_BINARY_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/zstd",
        "application/x-msdownload",
        "application/x-executable",
        "application/x-mach-binary",
        "application/x-sharedlib",
        "application/vnd.microsoft.portable-executable",
        "application/java-archive",
        "application/wasm",
        "application/vnd.android.package-archive",
        "application/x-shockwave-flash",
        "application/font-woff",
        "application/x-font-ttf",
        "application/vnd.ms-fontobject",
    }
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_SNIFF_BYTES = 1024
_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,text/plain;q=0.8,"
    "application/pdf;q=0.8,application/json;q=0.8,*/*;q=0.1"
)

# (signature, offset, media type) of binary formats; PDF is checked separately (it is allowed)
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"\x00\x00\x01\x00", 0, "image/x-icon"),
    (b"WEBP", 8, "image/webp"),
    (b"WAVE", 8, "audio/wav"),
    (b"AVI ", 8, "video/x-msvideo"),
    (b"ftyp", 4, "video/mp4"),
    (b"\x1aE\xdf\xa3", 0, "video/webm"),
    (b"OggS", 0, "audio/ogg"),
    (b"fLaC", 0, "audio/flac"),
    (b"ID3", 0, "audio/mpeg"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"PK\x05\x06", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"BZh", 0, "application/x-bzip2"),
    (b"\xfd7zXZ\x00", 0, "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"\x28\xb5\x2f\xfd", 0, "application/zstd"),
    (b"\x7fELF", 0, "application/x-executable"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"\xca\xfe\xba\xbe", 0, "application/java-vm"),
    (b"\xcf\xfa\xed\xfe", 0, "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", 0, "application/x-mach-binary"),
    (b"\x00asm", 0, "application/wasm"),
    (b"wOFF", 0, "font/woff"),
    (b"wOF2", 0, "font/woff2"),
    (b"OTTO", 0, "font/otf"),
    (b"\x00\x01\x00\x00\x00", 0, "font/ttf"),
    (b"SQLite format 3\x00", 0, "application/vnd.sqlite3"),
)
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class FetchError(RuntimeError):
    """A page could not be fetched; `status` is the HTTP status when a server answered."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class FetchTimeoutError(FetchError):
    """The fetch ran past its deadline (or a connect/read timed out)."""


class ContentTooLargeError(FetchError):
    """The body is (or says it is) larger than `FetchLimits.max_bytes`."""


class UnsupportedContentError(FetchError):
    """The body is binary or of a type the reader cannot turn into text."""


class TooManyRedirectsError(FetchError):
    """More than `FetchLimits.max_redirects` redirects."""


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one `fetch_url` call. `timeout` is the wall-clock budget for the whole fetch
    (DNS, every redirect hop and the body); `connect_timeout` bounds each TCP/TLS connect."""

    max_bytes: int = 5_000_000
    timeout: float = 20.0
    connect_timeout: float = 5.0
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError("max_bytes, timeout and connect_timeout must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must be >= 0")


@dataclass(frozen=True)
class FetchedPage:
    """A fetched body. `url` is what was asked for, `final_url` where the body came from (after
    redirects), `redirects` every URL that answered with a redirect, in order. `content_type`
    is the media type (lower case, no parameters; corrected when sniffing found a PDF or the
    header was missing) and `charset` the charset the header declared, if any."""

    url: str
    final_url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes = field(repr=False)
    redirects: list[str] = field(default_factory=list)


def media_type(header: str | None) -> tuple[str, str | None]:
    """(media type, charset) of a Content-Type header value; ("", None) when there is none."""
    if not header:
        return "", None
    main, *params = header.split(";")
    charset: str | None = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").strip() or None
    return main.strip().lower(), charset


def sniff_binary(data: bytes, charset: str | None = None) -> str | None:
    """The binary media type `data` starts like ("image/png", ...; "application/octet-stream"
    for unknown data with NUL or many control bytes), or None when it may be text. A `%PDF-`
    file is not "binary" here (it is readable); UTF-16/32 text (a BOM, or a declared
    charset) may hold NUL bytes."""
    head = data[:_SNIFF_BYTES]
    if not head or head.lstrip(b" \t\r\n").startswith(b"%PDF-"):
        return None
    if head.startswith(_TEXT_BOMS):
        return None
    for signature, offset, kind in _MAGIC:
        if head[offset : offset + len(signature)] == signature:
            if signature == b"MZ" and b"\x00" not in head[:128]:
                continue  # text that happens to start with "MZ"
            if signature == b"BM" and b"\x00" not in head[:32]:
                continue
            if signature == b"ID3" and b"\x00" not in head[:32]:
                continue
            return kind
    wide = charset is not None and charset.lower().replace("-", "").startswith(("utf16", "utf32"))
    if wide:
        return None  # UTF-16/32 text is full of NUL and "control" bytes
    if b"\x00" in head:
        return "application/octet-stream"
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    if controls > len(head) // 10:
        return "application/octet-stream"
    return None


def _looks_like_pdf(data: bytes) -> bool:
    return data[:_SNIFF_BYTES].lstrip(b" \t\r\n").startswith(b"%PDF-")


def _guess_text_type(data: bytes) -> str:
    head = data[:_SNIFF_BYTES].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "text/html"
    if head.startswith(b"<?xml"):
        return "application/xml"
    if head.startswith((b"{", b"[")):
        return "application/json"
    return "text/plain"


def _type_problem(kind: str) -> str | None:
    if kind in ALLOWED_CONTENT_TYPES:
        return None
    if kind.startswith(_BINARY_PREFIXES) or kind in _BINARY_TYPES:
        return f"refused binary content type {kind}"
    if kind.endswith("+xml") or kind.endswith("+json"):
        return None
    return f"unsupported content type {kind}"


class _Decoder:
    """Content-Encoding decoding with bounded output (so a gzip bomb stops at the cap)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        self._first = True
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of `data`: at most `room + 1` of them (one more says "over the cap")."""
        if self._zlib is None:
            return data
        try:
            out = self._zlib.decompress(data, room + 1)
        except zlib.error:
            if not (self._first and self.encoding == "deflate"):
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
            out = self._zlib.decompress(data, room + 1)
        self._first = False
        return out


def _pinned_request(
    client: httpx.AsyncClient, target: ResolvedTarget, address: str, limits: FetchLimits
) -> httpx.Request:
    url = httpx.URL(target.url)
    headers = {
        "User-Agent": limits.user_agent,
        "Accept": _ACCEPT,
        "Accept-Encoding": "gzip, deflate",
    }
    extensions: dict[str, str] = {}
    if target.scheme == "https" and not target.is_ip_literal:
        extensions["sni_hostname"] = target.host
    # always the checked address, also for a numeric host such as 2130706433 (which the client
    # would otherwise hand to getaddrinfo), with the URL's own host[:port] as the Host header
    url = url.copy_with(host=address, fragment=None)
    headers["Host"] = target.netloc
    return client.build_request("GET", url, headers=headers, extensions=extensions)


async def _send(
    client: httpx.AsyncClient, target: ResolvedTarget, limits: FetchLimits
) -> httpx.Response:
    """Send to the checked addresses in turn until one connects."""
    error: httpx.TransportError | None = None
    for address in target.addresses:
        request = _pinned_request(client, target, address, limits)
        try:
            return await client.send(request, stream=True, follow_redirects=False)
        except (httpx.ConnectError, httpx.ConnectTimeout) as problem:
            error = problem
    assert error is not None  # addresses is never empty
    raise error


async def _read_body(
    response: httpx.Response, url: str, kind: str, charset: str | None, limits: FetchLimits
) -> tuple[bytes, str]:
    """The decoded body (at most `max_bytes`) and its media type after sniffing."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise UnsupportedContentError(
            f"unsupported content encoding {encoding!r} from {url}", url=url
        )
    decoder = _Decoder(encoding)
    cap = limits.max_bytes
    chunks: list[bytes] = []
    size = 0
    sniffed = False

    def sniff(head: bytes) -> str:
        if _looks_like_pdf(head):
            return "application/pdf"
        binary = sniff_binary(head, charset)
        if binary is not None:
            what = f"labelled {kind} but the bytes are {binary}" if kind else binary
            if kind == binary:
                what = f"type {binary}"
            raise UnsupportedContentError(f"refused binary content ({what}) from {url}", url=url)
        if kind == "application/octet-stream":
            raise UnsupportedContentError(f"refused binary content type {kind} from {url}", url=url)
        return kind or _guess_text_type(head)

    try:
        async for raw in response.aiter_raw():
            data = decoder.feed(raw, cap - size)
            if not data:
                continue
            size += len(data)
            if size > cap:
                raise ContentTooLargeError(
                    f"page at {url} is over the {cap:,}-byte limit (stopped reading)", url=url
                )
            chunks.append(data)
            if not sniffed and size >= _SNIFF_BYTES:
                kind = sniff(b"".join(chunks))
                sniffed = True
    except zlib.error as error:
        raise FetchError(f"corrupt {encoding} body from {url}: {error}", url=url) from None
    body = b"".join(chunks)
    if not sniffed:
        kind = sniff(body)
    return body, kind


async def _fetch(
    url: str,
    policy: UrlPolicy,
    limits: FetchLimits,
    client: httpx.AsyncClient,
    resolver: Resolver | None,
) -> FetchedPage:
    redirects: list[str] = []
    current = url
    waited = False
    while True:
        try:
            target = await check_url(current, policy, resolver)
        except UnsafeUrlError as error:
            if not redirects:
                raise
            shown = clean_message(current, limit=200)
            raise UnsafeUrlError(
                f"redirect from {redirects[-1]} to {shown} refused: {error}"
            ) from None
        current = target.url
        response = await _send(client, target, limits)
        try:
            status = response.status_code
            if status in _REDIRECT_STATUSES:
                location = response.headers.get("location", "").strip()
                if not location:
                    raise FetchError(
                        f"HTTP {status} redirect without a Location from {current}",
                        url=current,
                        status=status,
                    )
                redirects.append(current)
                if len(redirects) > limits.max_redirects:
                    raise TooManyRedirectsError(
                        f"too many redirects (more than {limits.max_redirects}) starting at {url}",
                        url=current,
                        status=status,
                    )
                try:
                    current = str(httpx.URL(current).join(location))
                except (httpx.InvalidURL, ValueError) as error:
                    raise FetchError(
                        f"bad redirect Location {clean_message(location, limit=120)!r} from "
                        f"{current}: {error}",
                        url=current,
                        status=status,
                    ) from None
                continue
            if status in (429, 503) and not waited:
                # busy: one polite retry when the server says when (and that fits the budget)
                delay = retry_after_seconds(response)
                if delay is not None and delay <= MAX_RETRY_AFTER:
                    waited = True
                    await asyncio.sleep(delay)
                    continue
            if not 200 <= status < 300 or status == 204:
                reason = clean_message(response.reason_phrase or "", limit=80)
                raise FetchError(
                    f"HTTP {status}{' ' + reason if reason else ''} from {current}",
                    url=current,
                    status=status,
                )
            kind, charset = media_type(response.headers.get("content-type"))
            if kind and kind != "application/octet-stream":
                problem = _type_problem(kind)
                if problem:
                    raise UnsupportedContentError(
                        f"{problem} from {current}", url=current, status=status
                    )
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise ContentTooLargeError(
                    f"page at {current} is {int(declared):,} bytes, over the "
                    f"{limits.max_bytes:,}-byte limit",
                    url=current,
                    status=status,
                )
            body, kind = await _read_body(response, current, kind, charset, limits)
            return FetchedPage(
                url=url,
                final_url=current,
                status=status,
                content_type=kind,
                charset=charset,
                body=body,
                redirects=redirects,
            )
        finally:
            await response.aclose()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The default verifying TLS context (certifi's CAs, or SSL_CERT_FILE/SSL_CERT_DIR), made
    once: building it costs ~90 ms, and each fetch gets a fresh client."""
    return httpx.create_ssl_context()


def _client(limits: FetchLimits) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        verify=_ssl_context(),
        timeout=httpx.Timeout(limits.timeout, connect=limits.connect_timeout),
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def fetch_url(
    url: str,
    policy: UrlPolicy | None = None,
    limits: FetchLimits | None = None,
    client: httpx.AsyncClient | None = None,
    *,
    resolver: Resolver | None = None,
) -> FetchedPage:
    """GET `url` under `policy` and `limits` (see the module docstring for what is checked).

    `client`: an httpx client to send with (its redirect following is never used); by default
    a fresh one per call. `resolver`: the DNS resolver for `check_url` (default getaddrinfo).
    Raises `UnsafeUrlError` or `FetchError`.
    """
    policy = policy or UrlPolicy()
    limits = limits or FetchLimits()
    try:
        async with asyncio.timeout(limits.timeout):
            if client is not None:
                return await _fetch(url, policy, limits, client, resolver)
            async with _client(limits) as own:
                return await _fetch(url, policy, limits, own, resolver)
    except httpx.ConnectTimeout:
        raise FetchTimeoutError(
            f"connecting timed out after {limits.connect_timeout:g} s fetching {url}", url=url
        ) from None
    except (TimeoutError, httpx.TimeoutException):
        raise FetchTimeoutError(
            f"timed out after {limits.timeout:g} s fetching {url}", url=url
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:  # refused, reset, TLS failure, bad reply
        detail = clean_message(str(error) or type(error).__name__, limit=160)
        raise FetchError(f"cannot fetch {url}: {detail}", url=url) from None
