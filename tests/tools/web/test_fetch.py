"""`fetch_url` against a real server on 127.0.0.1: redirects re-checked hop by hop, the byte cap
(declared and streamed, gzip bombs), the wall-clock deadline, binary refusal by header and by
sniffing, HTTP errors, and address pinning (plain HTTP and real TLS with SNI)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.tools.web.fake_pages import ARTICLE_HTML, FakePages, make_certificates
from tools.web.fetch import (
    DEFAULT_USER_AGENT,
    ContentTooLargeError,
    FetchError,
    FetchLimits,
    FetchTimeoutError,
    TooManyRedirectsError,
    UnsupportedContentError,
    fetch_url,
    media_type,
    sniff_binary,
)
from tools.web.safety import UnsafeUrlError, UrlPolicy

LOCAL = UrlPolicy(allow_hosts=["127.0.0.1"])


@pytest.fixture(scope="module")
def pages() -> Iterator[FakePages]:
    with FakePages() as server:
        yield server


class FixedResolver:
    """Answers every name with fixed addresses; counts lookups."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.addresses


async def test_fetches_a_page(pages: FakePages) -> None:
    page = await fetch_url(pages.url("/article"), LOCAL)
    assert page.status == 200
    assert (page.content_type, page.charset) == ("text/html", "utf-8")
    assert page.body == ARTICLE_HTML.encode()
    assert page.url == page.final_url == pages.url("/article")
    assert page.redirects == []
    headers = pages.seen_headers["/article"]
    assert headers["user-agent"] == DEFAULT_USER_AGENT
    assert (
        DEFAULT_USER_AGENT.startswith("wideseek/")
        and "(+research assistant)" in headers["user-agent"]
    )
    assert headers["host"] == f"127.0.0.1:{pages.port}"


async def test_the_test_server_is_refused_without_the_allow_list(pages: FakePages) -> None:
    with pytest.raises(UnsafeUrlError, match="loopback"):
        await fetch_url(pages.url("/never-asked-1"))
    with pytest.raises(UnsafeUrlError, match="local host name"):
        await fetch_url(f"http://localhost:{pages.port}/never-asked-2", LOCAL)
    assert "/never-asked-1" not in pages.hits and "/never-asked-2" not in pages.hits


# --- redirects ------------------------------------------------------------------------------


async def test_follows_a_redirect_chain_with_relative_locations(pages: FakePages) -> None:
    page = await fetch_url(pages.url("/hop/2"), LOCAL)
    assert page.final_url == pages.url("/article")
    assert page.redirects == [pages.url("/hop/2"), pages.url("/hop/1"), pages.url("/hop/0")]
    assert page.url == pages.url("/hop/2")
    assert b"Harbour Bridge" in page.body


async def test_too_many_redirects_is_a_clear_error(pages: FakePages) -> None:
    with pytest.raises(TooManyRedirectsError, match=r"too many redirects \(more than 5\)"):
        await fetch_url(pages.url("/hop/9"), LOCAL)
    with pytest.raises(TooManyRedirectsError, match="more than 0"):
        await fetch_url(pages.url("/hop/0"), LOCAL, FetchLimits(max_redirects=0))
    page = await fetch_url(pages.url("/hop/4"), LOCAL)  # 5 redirects: exactly the limit
    assert len(page.redirects) == 5


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/redirect-private", "10.0.0.5: a private"),
        ("/redirect-metadata", "169.254.169.254: a cloud metadata address"),
        ("/redirect-loopback-name", "localhost: a local host name"),
        ("/redirect-file", "scheme 'file' is not allowed"),
    ],
)
async def test_every_redirect_hop_is_checked(pages: FakePages, path: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError) as caught:
        await fetch_url(pages.url(path), LOCAL)
    message = str(caught.value)
    assert message.startswith(f"redirect from {pages.url(path)} to ")
    assert reason in message


async def test_redirect_to_a_public_name_resolving_privately_is_refused(pages: FakePages) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"public.example": ["10.0.0.5"]}[host]

    with pytest.raises(UnsafeUrlError, match=r"public\.example: it resolves to 10\.0\.0\.5"):
        await fetch_url(pages.url("/redirect-public-name"), LOCAL, resolver=resolve)


async def test_redirect_without_location_is_an_error(pages: FakePages) -> None:
    with pytest.raises(FetchError, match="HTTP 302 redirect without a Location") as caught:
        await fetch_url(pages.url("/redirect-no-location"), LOCAL)
    assert caught.value.status == 302


async def test_a_redirect_is_never_followed_by_the_client(pages: FakePages) -> None:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        with pytest.raises(UnsafeUrlError, match=r"10\.0\.0\.5"):
            await fetch_url(pages.url("/redirect-private"), LOCAL, client=client)
        page = await fetch_url(pages.url("/hop/1"), LOCAL, client=client)
    assert len(page.redirects) == 2


# --- pinning (DNS rebinding) ----------------------------------------------------------------


async def test_connects_to_the_checked_address_with_the_real_host_header(
    pages: FakePages,
) -> None:
    # "pinned.example" exists in no DNS: the fetch works only because the client connects to
    # the address the check resolved, not to a fresh lookup of the name.
    resolver = FixedResolver("127.0.0.1")
    policy = UrlPolicy(allow_networks=["127.0.0.1/32"])
    page = await fetch_url(f"http://pinned.example:{pages.port}/article", policy, resolver=resolver)
    assert page.final_url == f"http://pinned.example:{pages.port}/article"
    assert pages.seen_headers["/article"]["host"] == f"pinned.example:{pages.port}"
    assert resolver.asked == ["pinned.example"]


async def test_tries_the_next_checked_address_when_one_refuses(pages: FakePages) -> None:
    resolver = FixedResolver("127.0.0.2", "127.0.0.1")  # nothing listens on 127.0.0.2:port
    policy = UrlPolicy(allow_networks=["127.0.0.0/8"])
    page = await fetch_url(f"http://multi.example:{pages.port}/text", policy, resolver=resolver)
    assert page.body.startswith(b"Plain text")


@pytest.fixture(scope="module")
def tls_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakePages, Path]]:
    made = make_certificates(tmp_path_factory.mktemp("tls"), "pinned.example")
    if made is None:
        pytest.skip("the openssl command is not installed")
    ca, context = made
    with FakePages(tls=context) as server:
        yield server, ca


def _tls_client(ca: Path) -> httpx.AsyncClient:
    verify = ssl.create_default_context(cafile=str(ca))
    return httpx.AsyncClient(
        verify=verify, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
    )


async def test_https_is_pinned_and_the_certificate_checked_against_the_real_name(
    tls_pages: tuple[FakePages, Path],
) -> None:
    server, ca = tls_pages
    resolver = FixedResolver("127.0.0.1")
    policy = UrlPolicy(allow_hosts=["pinned.example", "other.example"])
    async with _tls_client(ca) as client:
        page = await fetch_url(
            f"https://pinned.example:{server.port}/article", policy, client=client,
            resolver=resolver,
        )  # fmt: skip
        assert page.final_url == f"https://pinned.example:{server.port}/article"
        assert server.seen_headers["/article"]["host"] == f"pinned.example:{server.port}"
        # the same address under a name the certificate does not hold fails verification
        with pytest.raises(FetchError, match="cannot fetch"):
            await fetch_url(
                f"https://other.example:{server.port}/article", policy, client=client,
                resolver=resolver,
            )  # fmt: skip


# --- size, time ------------------------------------------------------------------------------


async def test_declared_content_length_over_the_cap_is_refused_before_reading(
    pages: FakePages,
) -> None:
    started = time.monotonic()
    with pytest.raises(ContentTooLargeError, match="50,000,000 bytes, over the 5,000,000-byte"):
        await fetch_url(pages.url("/huge-declared"), LOCAL)
    assert time.monotonic() - started < 2


async def test_a_chunked_body_streaming_past_the_cap_is_cut_off(pages: FakePages) -> None:
    with pytest.raises(ContentTooLargeError, match="over the 200,000-byte limit"):
        await fetch_url(pages.url("/huge-chunked"), LOCAL, FetchLimits(max_bytes=200_000))
    with pytest.raises(ContentTooLargeError, match="over the 5,000,000-byte limit"):
        await fetch_url(pages.url("/huge-chunked"), LOCAL)


async def test_gzip_bodies_are_decoded_and_a_gzip_bomb_stops_at_the_cap(pages: FakePages) -> None:
    for path in ("/gzip", "/deflate"):
        page = await fetch_url(pages.url(path), LOCAL)
        assert page.body == ARTICLE_HTML.encode()
    with pytest.raises(ContentTooLargeError, match="over the 1,000,000-byte limit"):
        await fetch_url(pages.url("/gzip-bomb"), LOCAL, FetchLimits(max_bytes=1_000_000))


async def test_a_slow_dribbling_server_is_cut_off_at_the_deadline(pages: FakePages) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError, match=r"timed out after 1 s fetching .*/slow"):
        await fetch_url(pages.url("/slow"), LOCAL, FetchLimits(timeout=1.0))
    assert 0.9 < time.monotonic() - started < 2.5


async def test_connection_refused_is_a_fetch_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match=f"cannot fetch http://127.0.0.1:{port}/"):
        await fetch_url(f"http://127.0.0.1:{port}/", LOCAL)


# --- status and type -------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/404", 404), ("/500", 500)])
async def test_http_errors_carry_the_status(pages: FakePages, path: str, status: int) -> None:
    with pytest.raises(FetchError, match=f"HTTP {status} ") as caught:
        await fetch_url(pages.url(path), LOCAL)
    assert caught.value.status == status
    assert "\n" not in str(caught.value)


async def test_429_with_a_short_retry_after_is_fetched_once_more(pages: FakePages) -> None:
    started = time.monotonic()
    page = await fetch_url(pages.url("/busy-once"), LOCAL)
    assert page.status == 200 and b"Harbour Bridge" in page.body
    assert time.monotonic() - started >= 0.9  # waited the Retry-After (1 s)
    with pytest.raises(FetchError, match="HTTP 429") as caught:
        await fetch_url(pages.url("/busy-always"), LOCAL)  # one retry only
    assert caught.value.status == 429 and pages.busy_hits["/busy-always"] == 2
    started = time.monotonic()
    with pytest.raises(FetchError, match="HTTP 429"):
        await fetch_url(pages.url("/busy-long"), LOCAL)  # an hour: not waited for
    assert time.monotonic() - started < 1 and pages.busy_hits["/busy-long"] == 1


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/png", "refused binary content type image/png"),
        ("/zip", "refused binary content type application/zip"),
        ("/png-as-html", "labelled text/html but the bytes are image/png"),
        ("/png-no-type", "refused binary content (image/png)"),
        ("/octet", "application/octet-stream"),
    ],
)
async def test_binary_content_is_refused(pages: FakePages, path: str, reason: str) -> None:
    with pytest.raises(UnsupportedContentError) as caught:
        await fetch_url(pages.url(path), LOCAL)
    assert reason in str(caught.value)


async def test_pdf_is_recognised_by_its_signature(pages: FakePages) -> None:
    page = await fetch_url(pages.url("/pdf-octet"), LOCAL)
    assert page.content_type == "application/pdf" and page.body.startswith(b"%PDF-")
    assert (await fetch_url(pages.url("/pdf"), LOCAL)).content_type == "application/pdf"


async def test_missing_content_type_is_sniffed(pages: FakePages) -> None:
    page = await fetch_url(pages.url("/no-type"), LOCAL)
    assert page.content_type == "text/html" and page.charset is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("text/html; charset=UTF-8", ("text/html", "UTF-8")),
        ('Text/HTML;Charset="iso-8859-1"', ("text/html", "iso-8859-1")),
        ("application/json", ("application/json", None)),
        ("", ("", None)),
        (None, ("", None)),
    ],
)
def test_media_type(header: str | None, expected: tuple[str, str | None]) -> None:
    assert media_type(header) == expected


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"\x1f\x8b\x08\x00", "application/gzip"),
        (b"\x7fELF\x02\x01\x01", "application/x-executable"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "application/x-msdownload"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"wOF2\x00\x01", "font/woff2"),
        (b"abc\x00def", "application/octet-stream"),
        (b"<html><body>hi</body></html>", None),
        (b"MZ is how the text starts", None),
        (b"%PDF-1.7\n", None),
        ("\ufeffhello".encode("utf-16"), None),
        (b"", None),
    ],
)
def test_sniff_binary(data: bytes, kind: str | None) -> None:
    assert sniff_binary(data) == kind


def test_sniff_allows_nul_bytes_in_declared_utf16() -> None:
    assert sniff_binary("hello".encode("utf-16-le"), "utf-16le") is None
    assert sniff_binary("hello".encode("utf-16-le")) == "application/octet-stream"


def test_fetch_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        FetchLimits(max_bytes=0)
    with pytest.raises(ValueError):
        FetchLimits(max_redirects=-1)


async def test_a_numeric_host_is_pinned_to_the_address_it_means(pages: FakePages) -> None:
    page = await fetch_url(f"http://2130706433:{pages.port}/text", LOCAL)  # 127.0.0.1
    assert page.body.startswith(b"Plain text")
    assert pages.seen_headers["/text"]["host"] == f"2130706433:{pages.port}"
