"""Which URLs the web tools may fetch: public http(s) hosts only, checked after DNS resolution.

`check_url(url, policy)` parses a URL with httpx's parser (the same parser the fetcher uses, so
the checker and the client never disagree about which host a URL names), refuses what is not
plainly a public web address, resolves the host and checks EVERY address the resolver returns;
it answers a `ResolvedTarget` that names the checked addresses, or raises `UnsafeUrlError`.

Refused, unless allow-listed (see `UrlPolicy`):

- schemes other than http/https (`file:`, `ftp:`, `gopher:`, `data:` ...), credentials in the
  URL (`http://user:pass@host/`), ports outside `allowed_ports` when that is set;
- host names that are local by definition (`localhost`, `*.localhost`, `*.local`,
  `*.internal`, cloud metadata names such as `metadata.google.internal`);
- addresses (literal or resolved) that are loopback, private (RFC 1918, fc00::/7), link-local
  (169.254/16, fe80::/10), CGNAT shared space (100.64/10), unspecified, multicast, reserved,
  documentation/benchmark ranges or otherwise not globally routable, and cloud metadata
  addresses (169.254.169.254, fd00:ec2::254, 169.254.170.2, 100.100.100.200); an IPv6 address
  that embeds an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
  `2002::/16`) is judged by the IPv4 address it carries;
- numeric host tricks: a host made only of numbers is read the way `inet_aton` (and so
  `getaddrinfo`) reads it, so `http://2130706433/`, `http://0x7f.1/` and `http://017700000001/`
  are all 127.0.0.1 and refused; a numeric host that `inet_aton` rejects is refused too.

Allow-listing: a host named in `UrlPolicy.allow_hosts` (exactly, or `*.example.org` for its
subdomains) is trusted whatever it resolves to; an address inside `UrlPolicy.allow_networks`
is accepted even if it is private. Cloud metadata addresses are never unlocked by a network,
only by naming the host itself in `allow_hosts`.

DNS rebinding: a hostile name can answer a public address to the check and a private one to the
client's own lookup a moment later. `tools.web.fetch` therefore never lets the client resolve
the name: it connects to an address this module checked (`ResolvedTarget.addresses`), sends the
real name in the `Host` header and, for https, as the TLS server name (httpcore's
`sni_hostname` request extension, which httpcore also uses as the name the certificate is
verified against), so TLS still proves the server owns the name. Residual risks: an HTTP proxy
configured in the environment would resolve names itself, so the fetcher's own client ignores
proxy settings (`trust_env=False`); a caller that passes its own client must do the same.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

__all__ = [
    "METADATA_ADDRESSES",
    "ResolvedTarget",
    "Resolver",
    "UnresolvableHostError",
    "UnsafeUrlError",
    "UrlPolicy",
    "address_problem",
    "check_url",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""`(host, port) -> addresses`: every address the name resolves to, as strings."""

MAX_URL_LENGTH = 2000

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
_METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2"}
)
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_LOCAL_HOSTS = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*$")


class UnsafeUrlError(ValueError):
    """The URL may not be fetched; the message says why, in one line."""


class UnresolvableHostError(UnsafeUrlError):
    """The host name has no address (DNS failure): nothing to connect to."""


@dataclass(frozen=True)
class UrlPolicy:
    """What `check_url` lets through besides public addresses.

    `allow_hosts`: host names or IP literals trusted whatever they resolve to (case-insensitive;
    `*.example.org` also matches every subdomain of example.org). `allow_networks`: CIDRs whose
    addresses are accepted even when private (e.g. `10.1.2.0/24` for an intranet wiki).
    `allowed_ports`: when set, the only ports a URL may name (after defaults: 80/443).
    """

    allow_hosts: Sequence[str] = ()
    allow_networks: Sequence[str] = ()
    allowed_schemes: tuple[str, ...] = ("http", "https")
    allowed_ports: Sequence[int] | None = None
    _networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        try:
            networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.allow_networks)
        except ValueError as error:
            raise ValueError(f"bad network in allow_networks: {error}") from None
        object.__setattr__(self, "_networks", networks)
        object.__setattr__(self, "allow_hosts", tuple(h.strip().lower() for h in self.allow_hosts))
        object.__setattr__(self, "allow_networks", tuple(self.allow_networks))
        object.__setattr__(self, "allowed_schemes", tuple(s.lower() for s in self.allowed_schemes))

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for allowed in self.allow_hosts:
            if allowed.startswith("*."):
                if host.endswith(allowed[1:]) and len(host) > len(allowed) - 1:
                    return True
            elif host == allowed.rstrip(".").strip("[]"):
                return True
        return False

    def address_allowed(self, address: IPAddress) -> bool:
        if address in METADATA_ADDRESSES:
            return False  # only an explicit allow_hosts entry unlocks a metadata address
        return any(address.version == net.version and address in net for net in self._networks)


@dataclass(frozen=True)
class ResolvedTarget:
    """A URL that passed `check_url`: where to connect and what to call the server.

    `host` is the ASCII (IDNA) host without brackets, `netloc` the `Host` header value
    (host and a non-default port), `addresses` every address the host resolved to (all
    checked; for an IP literal, just that address, normalised).
    """

    url: str
    scheme: str
    host: str
    netloc: str
    port: int
    addresses: tuple[str, ...]
    is_ip_literal: bool
    allow_listed: bool


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address `getaddrinfo` gives for `host` (the default resolver of `check_url`)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def address_problem(address: IPAddress) -> str | None:
    """Why `address` is not a public destination ("loopback", ...), or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} (IPv4 {embedded} inside IPv6)" if problem else None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.version == 4 and address in _CGNAT, "in the CGNAT shared range 100.64.0.0/10"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private or special-purpose address"),
        (not address.is_global, "not a public address"),
    )
    for bad, reason in checks:
        if bad:
            return reason
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def _parse_address(text: str) -> IPAddress | None:
    """An IP address from a resolver answer or bracket-less literal (zone id dropped)."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address `inet_aton` reads in an all-numeric host (decimal, octal, hex parts,
    1 to 4 of them), or None when the host is not all-numeric. Raises `UnsafeUrlError` for a
    numeric host that is no address at all (its meaning would depend on the resolver)."""
    if not _NUMERIC_HOST.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise UnsafeUrlError(f"host {host!r} is a malformed numeric address") from None


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


async def check_url(
    url: str, policy: UrlPolicy | None = None, resolver: Resolver | None = None
) -> ResolvedTarget:
    """Check that `url` may be fetched under `policy`; resolve its host and check every address.

    Raises `UnsafeUrlError` (or `UnresolvableHostError`, a subclass) with a one-line reason.
    `resolver` defaults to `system_resolver` (the event loop's `getaddrinfo`).
    """
    policy = policy or UrlPolicy()
    resolver = resolver or system_resolver
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise UnsafeUrlError(f"malformed URL: {error}") from None
    scheme = parsed.scheme
    if not scheme:
        raise UnsafeUrlError(f"URL {url!r} has no scheme (use http:// or https://)")
    if scheme not in policy.allowed_schemes:
        allowed = "/".join(policy.allowed_schemes)
        raise UnsafeUrlError(f"scheme {scheme!r} is not allowed (only {allowed})")
    if parsed.userinfo:
        raise UnsafeUrlError("URLs with credentials (user:password@) are not allowed")
    try:
        host = parsed.raw_host.decode("ascii").lower()
    except UnicodeDecodeError:
        raise UnsafeUrlError("malformed host name") from None
    if not host:
        raise UnsafeUrlError(f"URL {url!r} has no host")
    port = parsed.port if parsed.port is not None else _default_port(scheme)
    if not 0 < port < 65536:
        raise UnsafeUrlError(f"port {port} is out of range")
    if policy.allowed_ports is not None and port not in policy.allowed_ports:
        raise UnsafeUrlError(f"port {port} is not allowed")
    netloc = parsed.netloc.decode("ascii")

    literal = _parse_address(host) if ":" in host else None
    if literal is None and ":" not in host:
        literal = _numeric_ipv4(host)
    if ":" in host and literal is None:
        raise UnsafeUrlError(f"malformed IPv6 host {host!r}")
    if literal is None:
        host = host.rstrip(".")
        if not _HOST_NAME.match(host):
            raise UnsafeUrlError(f"malformed host name {host!r}")
    allow_listed = policy.host_allowed(host)
    if literal is not None:
        allow_listed = allow_listed or policy.host_allowed(str(literal))

    def target(addresses: Sequence[str]) -> ResolvedTarget:
        return ResolvedTarget(
            url=str(parsed), scheme=scheme, host=host, netloc=netloc, port=port,
            addresses=tuple(dict.fromkeys(addresses)), is_ip_literal=literal is not None,
            allow_listed=allow_listed,
        )  # fmt: skip

    if literal is not None:
        if not allow_listed and not policy.address_allowed(literal):
            problem = address_problem(literal)
            if problem:
                raise UnsafeUrlError(f"refused {host}: {problem}")
        return target([str(literal)])

    if not allow_listed and (
        host in _LOCAL_HOSTS or host in _METADATA_HOSTS or host.endswith(_LOCAL_SUFFIXES)
    ):
        kind = "a cloud metadata host" if host in _METADATA_HOSTS else "a local host name"
        raise UnsafeUrlError(f"refused {host}: {kind}")
    try:
        answers = list(await resolver(host, port))
    except (OSError, UnicodeError) as error:
        raise UnresolvableHostError(f"cannot resolve host {host!r}: {error}") from None
    if not answers:
        raise UnresolvableHostError(f"host {host!r} has no addresses")
    addresses: list[str] = []
    for answer in answers:
        address = _parse_address(str(answer))
        if address is None:
            raise UnsafeUrlError(f"refused {host}: resolver returned {answer!r}, not an address")
        if not allow_listed and not policy.address_allowed(address):
            problem = address_problem(address)
            if problem:
                raise UnsafeUrlError(f"refused {host}: it resolves to {address}, {problem}")
        addresses.append(str(address))
    return target(addresses)
