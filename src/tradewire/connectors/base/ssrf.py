"""An SSRF guard for connectors whose base URL a user types (the declarative ``http`` connector…).

Rules, applied to every request (first call, each page, each redirect hop):

* only ``http`` and ``https``; no userinfo (``https://user:pw@host``) and no empty host;
* the host is resolved once; **every** address it resolves to (IPv4 and IPv6) must be public:
  private, loopback, link-local, unique-local, CGNAT, multicast, unspecified, reserved,
  documentation and benchmark ranges are refused, and so are IPv6 forms that embed an IPv4
  address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo),
  which are unwrapped and checked as IPv4;
* numeric hosts in the forms ``inet_aton`` accepts (``2130706433``, ``0177.0.0.1``,
  ``0x7f.1``, ``127.1``) are read as the IPv4 address they mean, never sent to DNS;
* cloud metadata endpoints (``169.254.169.254``, ``fd00:ec2::254``, ``100.100.100.200``,
  ``192.0.0.192``, ``metadata.google.internal``…) are refused, and only an allow-list entry that
  names exactly that address (``169.254.169.254/32``) or host can permit them;
* an operator allow-list (CIDRs and ``host:port`` entries, from ``TRADEWIRE_EGRESS_ALLOW`` or
  passed explicitly) permits otherwise refused destinations — the demo and tests allow their
  loopback sandboxes this way.

DNS rebinding: :class:`GuardedTransport` resolves the name itself, checks all the addresses,
then sends the request to the checked address (the URL's host is replaced by the IP; the
``Host`` header and the TLS SNI / certificate check keep the original name). The HTTP library
never resolves the name again, so an attacker's DNS cannot answer "public" to the check and
"private" to the connect. Redirects are not followed by the transport: the caller follows them
one hop at a time through the same transport, so every hop is checked again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import httpx

from tradewire.errors import ConfigError, VendorRetryable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOW_ENV = "TRADEWIRE_EGRESS_ALLOW"
ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean…
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS DNS resolver
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (is_global in Python's table)
        "168.63.129.16",  # Azure wire server (a public address!)
    )
)
METADATA_HOSTS = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "kubernetes.default.svc",
    }
)
_NO_SUCH_NAME = frozenset(
    code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if code is not None
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class DestinationRefused(ConfigError):
    """A URL points where a connector may not go (SSRF guard). Permanent: fix the URL or the allow-list."""


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address of ``host`` in any form ``inet_aton`` accepts, or None if it is not numeric.

    ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1`` and ``127.0.0.1`` all mean
    127.0.0.1: resolvers and browsers accept them, so the guard must read them the same way.
    """
    parts = host.split(".")
    if parts and parts[-1] == "":  # a trailing dot is allowed ("127.0.0.1.")
        parts = parts[:-1]
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        text = part.lower()
        try:
            if text.startswith("0x"):
                value = int(text[2:], 16) if len(text) > 2 else 0
            elif len(text) > 1 and text.startswith("0"):
                value = int(text[1:], 8)
            else:
                if not text.isdigit():
                    return None
                value = int(text, 10)
        except ValueError:
            return None
        values.append(value)
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)


def parse_ip(host: str) -> IPAddress | None:
    """The address a numeric host names (IPv6 with or without brackets and zone, or loose IPv4), else None."""
    text = host.strip().strip("[]")
    if "%" in text:  # fe80::1%eth0: the zone does not change what the address is
        text = text.split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    return parse_ipv4_loose(text)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo client), or None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # IPv4-compatible (::a.b.c.d, deprecated) still routes to IPv4 on some stacks.
    if int(address) >> 32 == 0 and int(address) > 0xFFFF:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def why_forbidden(address: IPAddress) -> str | None:
    """Why a connector may not call ``address`` by default, or None when it is a public address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = why_forbidden(inner)
        return f"an IPv6 form of {inner}, {reason}" if reason else None
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7"), "unique-local"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not globally routable"),
    )
    for failed, label in checks:
        if failed:
            return f"a {label} address"
    return None


@dataclass(frozen=True)
class AllowList:
    """Destinations permitted although the rules refuse them (operator setting, never user input).

    Entries: a CIDR or single address (``10.0.0.0/8``, ``127.0.0.1``, ``::1/128``) permits those
    addresses on any port; ``host:port`` (``127.0.0.1:8123``, ``[::1]:8080``,
    ``crm.internal:443``) permits that host name or address on that port only.
    """

    networks: tuple[IPNetwork, ...] = ()
    endpoints: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Read entries; a bad one raises.

        Raises:
            ConfigError: an entry is neither a CIDR nor ``host:port``.
        """
        networks: list[IPNetwork] = []
        endpoints: set[tuple[str, int]] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            host, sep, port_text = entry.rpartition(":")
            if not sep or not port_text.isdigit() or not host or not 0 < int(port_text) < 65536:
                raise ConfigError(f"egress allow-list entry {entry!r} is neither a CIDR nor host:port")
            endpoints.add((_normalise_host(host), int(port_text)))
        return cls(tuple(networks), frozenset(endpoints))

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> AllowList:
        """The operator's allow-list from ``TRADEWIRE_EGRESS_ALLOW`` (comma-separated; empty: nothing)."""
        text = (os.environ if environ is None else environ).get(ALLOW_ENV, "")
        return cls.parse(text.split(","))

    def permits_endpoint(self, host: str, port: int) -> bool:
        """True when ``host:port`` is listed as such."""
        return (_normalise_host(host), port) in self.endpoints

    def permits_address(self, address: IPAddress, port: int) -> bool:
        """True when ``address`` lies in a listed network (metadata addresses only by an exact entry)."""
        if self.permits_endpoint(str(address), port):
            return True
        for network in self.networks:
            if address.version != network.version or address not in network:
                continue
            if address in METADATA_ADDRESSES and network.num_addresses != 1:
                continue
            return True
        return False


def _normalise_host(host: str) -> str:
    host = host.strip().strip("[]").rstrip(".").lower()
    address = parse_ip(host)
    return str(address) if address is not None else host


@dataclass(frozen=True)
class CheckedTarget:
    """A URL that passed the guard, and the address to connect to."""

    url: httpx.URL
    host: str
    port: int
    address: IPAddress


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (IPv4 and IPv6).

    Raises:
        DestinationRefused: the name does not exist.
        VendorRetryable: the resolver failed for now (EAI_AGAIN, EAI_FAIL…).
    """
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise DestinationRefused(f"{host!r} is not a valid host name: {exc}") from None
    except socket.gaierror as exc:
        if exc.errno in _NO_SUCH_NAME:
            raise DestinationRefused(f"{host!r} does not resolve: {exc}") from None
        # A resolver that is down or timing out says nothing about the name: try again later.
        raise VendorRetryable(f"could not resolve {host!r} right now: {exc}") from None
    return [str(info[4][0]) for info in infos]


def check_url_syntax(url: str | httpx.URL) -> httpx.URL:
    """The URL, when its scheme, userinfo and host are acceptable (no DNS).

    Raises:
        DestinationRefused: a scheme other than http(s), userinfo, no host, or a metadata host name.
    """
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise DestinationRefused(f"not a URL: {exc}") from None
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise DestinationRefused(f"scheme {parsed.scheme or '(none)'!r} is not allowed; use https (or http)")
    if parsed.userinfo:
        raise DestinationRefused("credentials in the URL (user:password@host) are not allowed; use the auth section")
    if not parsed.host:
        raise DestinationRefused("the URL has no host")
    if _normalise_host(parsed.host) in METADATA_HOSTS:
        raise DestinationRefused(f"{parsed.host} is a cloud metadata host")
    return parsed


async def check_url(url: str | httpx.URL, *, allow: AllowList, resolver: Resolver = system_resolver) -> CheckedTarget:
    """Check ``url`` and pick the address to connect to.

    Raises:
        DestinationRefused: the URL breaks a rule and the allow-list does not permit it.
    """
    parsed = check_url_syntax(url)
    host = parsed.host
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    literal = parse_ip(host)
    endpoint_allowed = allow.permits_endpoint(host, port)
    if literal is not None:
        addresses: Sequence[IPAddress] = [literal]
    else:
        name = host.rstrip(".").lower()
        # RFC 6761: localhost and *.localhost are loopback whatever a resolver says.
        local = name == "localhost" or name.endswith(".localhost")
        resolved = ["127.0.0.1"] if local else await resolver(host, port)
        addresses = []
        for text in resolved:
            address = parse_ip(text)
            if address is None:
                raise DestinationRefused(f"{host} resolved to {text!r}, which is not an address")
            addresses.append(address)
        if not addresses:
            raise DestinationRefused(f"{host} resolved to no address")
    for address in addresses:
        if endpoint_allowed or allow.permits_address(address, port):
            continue
        reason = why_forbidden(address)
        if reason is not None:
            shown = host if literal is not None and str(literal) == host else f"{host} ({address})"
            raise DestinationRefused(
                f"{shown} is {reason}; connectors may not call it unless the operator allow-lists it ({ALLOW_ENV})"
            )
    return CheckedTarget(url=parsed, host=host, port=port, address=addresses[0])


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks every request with :func:`check_url` and pins it to the checked address.

    Args:
        inner: the transport that sends (default: a fresh ``httpx.AsyncHTTPTransport``).
        allow: the operator's allow-list.
        resolver: name → addresses (tests pass a fake one to play DNS tricks).
        connect_timeout: seconds to establish a connection (the client's timeout covers the rest).
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        allow: AllowList,
        resolver: Resolver = system_resolver,
        connect_timeout: float | None = None,
    ) -> None:
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._allow = allow
        self._resolver = resolver
        self._connect_timeout = connect_timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = await check_url(request.url, allow=self._allow, resolver=self._resolver)
        if self._connect_timeout is not None and isinstance(request.extensions.get("timeout"), dict):
            request.extensions = {
                **request.extensions,
                "timeout": {**request.extensions["timeout"], "connect": self._connect_timeout},
            }
        pinned_host = str(target.address)
        if pinned_host != target.host:
            # Connect to the checked address; the Host header and the TLS name stay the original host.
            # A copy is sent so the caller's request (and error messages, redirects) keep the name.
            headers = request.headers.copy()
            headers.setdefault("Host", _host_header(target))
            request = httpx.Request(
                request.method,
                request.url.copy_with(host=pinned_host),
                headers=headers,
                stream=request.stream,
                extensions={**request.extensions, "sni_hostname": target.host},
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _host_header(target: CheckedTarget) -> str:
    default = DEFAULT_PORTS.get(target.url.scheme)
    return target.host if target.url.port in (None, default) else f"{target.host}:{target.url.port}"
