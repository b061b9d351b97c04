"""`check_url`: schemes, credentials, private/loopback/link-local/metadata addresses (literal,
numeric tricks, IPv4-mapped IPv6, resolved by DNS), allow-lists and the injected resolver."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tools.web.safety import (
    ResolvedTarget,
    UnresolvableHostError,
    UnsafeUrlError,
    UrlPolicy,
    check_url,
    system_resolver,
)


class FakeResolver:
    """A resolver answering from a table (one answer for every name when given a string) and
    recording what it was asked."""

    def __init__(self, table: dict[str, Sequence[str]] | str) -> None:
        self.table = table
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if isinstance(self.table, str):
            return [self.table]
        if host not in self.table:
            raise OSError(-2, "Name or service not known")
        return list(self.table[host])


resolver_for = FakeResolver
PUBLIC = FakeResolver({"public.example": ["93.184.216.34"]})


async def refused(
    url: str, policy: UrlPolicy | None = None, resolver: FakeResolver = PUBLIC
) -> str:
    with pytest.raises(UnsafeUrlError) as caught:
        await check_url(url, policy, resolver)
    return str(caught.value)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("ftp://public.example/x", "scheme 'ftp' is not allowed"),
        ("gopher://public.example/", "scheme 'gopher'"),
        ("data:text/html,<p>hi</p>", "scheme 'data'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("public.example/page", "no scheme"),
        ("http://user:pass@public.example/", "credentials"),
        ("http://user@public.example/", "credentials"),
        ("http:///path", "no host"),
        ("http://exa mple.com/", "malformed"),
        ("http://public.example:99999/", "port"),
    ],
)
async def test_refuses_bad_schemes_credentials_and_malformed_urls(url: str, reason: str) -> None:
    assert reason in await refused(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://[::ffff:10.0.0.5]/", "private"),
        ("http://[64:ff9b::7f00:1]/", "loopback"),
        ("http://[2002:7f00:1::]/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://0x7f000001/", "loopback"),
        ("http://0x7f.1/", "loopback"),
        ("http://017700000001/", "loopback"),
        ("http://0177.0.0.1/", "malformed"),
        ("http://127.1/", "loopback"),
        ("http://0/", "unspecified"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://10.0.0.5/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fc00::1]/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://2852039166/", "cloud metadata"),  # 169.254.169.254 in decimal
        ("http://100.64.0.1/", "CGNAT"),
        ("http://100.127.255.254/", "CGNAT"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        ("http://192.0.2.10/", "special-purpose"),  # documentation range
        ("http://198.18.0.1/", "special-purpose"),  # benchmarking range
        ("http://999.1.1.1/", "malformed"),
        ("http://1.2.3.4.5/", "malformed numeric"),
    ],
)
async def test_refuses_non_public_ip_literals(url: str, reason: str) -> None:
    assert reason in await refused(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/",
        "http://LOCALHOST:8000/",
        "http://localhost./",
        "http://api.localhost/",
        "http://printer.local/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://metadata/",
        "http://db.corp.internal/",
    ],
)
async def test_refuses_local_names_before_resolving(url: str) -> None:
    resolve = resolver_for({})
    message = await refused(url, resolver=resolve)
    assert "local host name" in message or "cloud metadata" in message
    assert resolve.asked == []


@pytest.mark.parametrize(
    ("answers", "bad"),
    [
        (["10.0.0.5"], "10.0.0.5"),
        (["93.184.216.34", "127.0.0.1"], "127.0.0.1"),
        (["127.0.0.1", "93.184.216.34"], "127.0.0.1"),
        (["2606:2800:220:1:248:1893:25c8:1946", "::1"], "::1"),
        (["::ffff:192.168.0.1"], "192.168.0.1"),
        (["169.254.169.254"], "169.254.169.254"),
        (["100.64.1.1"], "100.64.1.1"),
    ],
)
async def test_every_dns_answer_is_checked(answers: list[str], bad: str) -> None:
    resolve = resolver_for({"public.example": answers})
    message = await refused("https://public.example/page", resolver=resolve)
    assert "resolves to" in message and bad in message
    assert resolve.asked == [("public.example", 443)]


async def test_a_public_name_resolving_to_public_addresses_is_allowed() -> None:
    answers = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "93.184.216.34"]
    resolve = resolver_for({"public.example": answers})
    target = await check_url("http://Public.Example:8080/a?b=1#frag", None, resolve)
    assert isinstance(target, ResolvedTarget)
    assert target.host == "public.example"
    assert target.netloc == "public.example:8080"
    assert target.port == 8080
    assert target.scheme == "http"
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    assert not target.is_ip_literal and not target.allow_listed


async def test_public_literals_pass_without_dns() -> None:
    resolve = resolver_for({})
    v4 = await check_url("https://93.184.216.34/x", None, resolve)
    v6 = await check_url("https://[2606:4700:4700::1111]/", None, resolve)
    assert (v4.addresses, v4.port, v4.is_ip_literal) == (("93.184.216.34",), 443, True)
    assert v6.addresses == ("2606:4700:4700::1111",)
    assert resolve.asked == []


async def test_idna_host_is_checked_in_ascii_form() -> None:
    resolve = resolver_for({"xn--bcher-kva.example": ["93.184.216.34"]})
    target = await check_url("http://bücher.example/", None, resolve)
    assert target.host == "xn--bcher-kva.example"


async def test_unresolvable_hosts_are_a_distinct_error() -> None:
    with pytest.raises(UnresolvableHostError, match=r"cannot resolve host 'nowhere\.example'"):
        await check_url("http://nowhere.example/", None, resolver_for({}))
    with pytest.raises(UnresolvableHostError, match="no addresses"):
        await check_url("http://empty.example/", None, resolver_for({"empty.example": []}))


async def test_resolver_garbage_is_refused() -> None:
    message = await refused("http://odd.example/", resolver=resolver_for({"odd.example": ["x"]}))
    assert "not an address" in message


# --- allow-lists ----------------------------------------------------------------------------


async def test_allow_listed_host_is_trusted() -> None:
    policy = UrlPolicy(allow_hosts=["127.0.0.1"])
    target = await check_url("http://127.0.0.1:8123/page", policy)
    assert target.allow_listed and target.addresses == ("127.0.0.1",)
    # the allow-list names exactly that host: other loopback forms stay refused
    assert "loopback" in await refused("http://127.0.0.2/", policy)
    assert "local host name" in await refused("http://localhost/", policy)
    assert "loopback" in await refused("http://[::1]/", policy)


async def test_without_the_allow_list_the_test_server_address_is_refused() -> None:
    assert "loopback" in await refused("http://127.0.0.1:8123/")


async def test_allow_listed_name_may_resolve_anywhere() -> None:
    resolve = resolver_for({"wiki.corp.example": ["10.1.2.3"]})
    policy = UrlPolicy(allow_hosts=["*.corp.example"])
    target = await check_url("https://wiki.corp.example/", policy, resolve)
    assert target.allow_listed and target.addresses == ("10.1.2.3",)
    assert "10.1.2.3" in await refused(
        "https://corp.example.evil/", policy, FakeResolver("10.1.2.3")
    )


async def test_allow_listed_network_accepts_only_its_addresses() -> None:
    policy = UrlPolicy(allow_networks=["10.0.0.0/24"])
    resolve = resolver_for({"public.example": ["10.0.0.5"], "other.example": ["10.0.1.5"]})
    assert (await check_url("http://public.example/", policy, resolve)).addresses == ("10.0.0.5",)
    assert "10.0.1.5" in await refused("http://other.example/", policy, resolve)
    assert (await check_url("http://10.0.0.9/", policy)).addresses == ("10.0.0.9",)


async def test_a_network_never_unlocks_cloud_metadata() -> None:
    policy = UrlPolicy(allow_networks=["169.254.0.0/16"])
    assert (await check_url("http://169.254.1.1/", policy)).addresses == ("169.254.1.1",)
    assert "cloud metadata" in await refused("http://169.254.169.254/", policy)
    explicit = UrlPolicy(allow_hosts=["169.254.169.254"])
    assert (await check_url("http://169.254.169.254/", explicit)).allow_listed


async def test_allowed_ports_and_schemes() -> None:
    policy = UrlPolicy(allowed_ports=[443], allowed_schemes=("https",))
    assert (await check_url("https://public.example/", policy, PUBLIC)).port == 443
    assert "port 8443 is not allowed" in await refused("https://public.example:8443/", policy)
    assert "scheme 'http' is not allowed (only https)" in await refused(
        "http://public.example/", policy
    )


def test_bad_network_in_policy_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="bad network"):
        UrlPolicy(allow_networks=["10.0.0.0/33"])


async def test_overlong_urls_are_refused() -> None:
    assert "longer than 2000" in await refused("http://public.example/" + "a" * 2000)


async def test_system_resolver_answers_loopback_for_localhost() -> None:
    addresses = await system_resolver("localhost", 80)
    assert addresses and all(a in ("127.0.0.1", "::1") for a in addresses)
