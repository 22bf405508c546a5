"""The SSRF guard (connectors/base/ssrf.py) against malicious URLs, DNS tricks and redirects."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest

from tradewire.connectors.base.ssrf import (
    AllowList,
    DestinationRefused,
    GuardedTransport,
    check_url,
    embedded_ipv4,
    parse_ipv4_loose,
    why_forbidden,
)
from tradewire.errors import ConfigError, PermanentError

NOTHING = AllowList()


def fake_dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise DestinationRefused(f"{host!r} does not resolve")
        return table[host]

    return resolve


def check(url: str, allow: AllowList = NOTHING, dns: dict[str, list[str]] | None = None) -> object:
    return asyncio.run(check_url(url, allow=allow, resolver=fake_dns(dns or {})))


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com:70/_GET",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/",
        "//example.com/",
        "https://user:pw@example.com/",
        "https://user@example.com/",
        "https:///nohost",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./",
        "http://metadata/",
    ],
)
def test_bad_schemes_userinfo_and_metadata_names_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check(url)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",  # decimal 127.0.0.1
        "0x7f000001",  # hex
        "0x7f.0.0.1",
        "0177.0.0.1",  # octal
        "0177.1",
        "017700000001",
        "127.0.0.1.",  # trailing dot
        "0",  # 0.0.0.0
        "0.0.0.0",  # noqa: S104 (a URL host under test, nothing binds)
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT
        "169.254.169.254",  # metadata
        "169.254.1.1",  # link-local
        "224.0.0.1",  # multicast
        "239.255.255.250",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "198.18.0.1",  # benchmarking
        "192.0.2.1",  # documentation
        "100.100.100.200",  # Alibaba metadata
        "192.0.0.192",  # Oracle metadata (is_global in Python's table)
        "[::1]",
        "[::]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:7f00:1]",
        "[::ffff:169.254.169.254]",
        "[0:0:0:0:0:ffff:10.0.0.1]",
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "[2002:a9fe:a9fe::1]",
        "[fd00:ec2::254]",  # AWS IMDS IPv6
        "[fc00::1]",  # unique-local
        "[fe80::1]",  # link-local
        "[fe80::1%25eth0]",  # with a zone
        "[ff02::1]",  # multicast
        "[2001:db8::1]",  # documentation
        "[::127.0.0.1]",  # IPv4-compatible
    ],
)
def test_private_and_special_addresses_are_refused_in_every_form(host: str) -> None:
    with pytest.raises(DestinationRefused) as caught:
        check(f"http://{host}/path")
    assert any(word in str(caught.value) for word in ("allow-list", "metadata", "not a URL"))


def test_loose_ipv4_forms_mean_what_resolvers_think() -> None:
    expected = ipaddress.IPv4Address("127.0.0.1")
    for text in ("127.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.0.0.1", "127.0.1"):
        assert parse_ipv4_loose(text) == expected, text
    assert parse_ipv4_loose("256.0.0.1") is None
    assert parse_ipv4_loose("example.com") is None
    assert parse_ipv4_loose("1.2.3.4.5") is None
    assert parse_ipv4_loose("08.0.0.1") is None  # not octal, not decimal


def test_embedded_ipv4_is_unwrapped() -> None:
    assert embedded_ipv4(ipaddress.ip_address("::ffff:10.0.0.1")) == ipaddress.IPv4Address("10.0.0.1")
    assert embedded_ipv4(ipaddress.ip_address("64:ff9b::808:808")) == ipaddress.IPv4Address("8.8.8.8")
    assert why_forbidden(ipaddress.ip_address("64:ff9b::808:808")) is None  # NAT64 of a public address is fine
    assert why_forbidden(ipaddress.ip_address("2606:4700::1111")) is None


def test_public_hosts_pass_and_the_connection_is_pinned_to_the_checked_address() -> None:
    target = check("https://api.example.com/v1", dns={"api.example.com": ["93.184.215.14"]})
    assert str(target.address) == "93.184.215.14"  # type: ignore[attr-defined]
    assert check("https://8.8.8.8/") is not None
    assert check("http://[2606:4700:4700::1111]:8080/") is not None


def test_a_name_is_refused_when_any_of_its_addresses_is_private() -> None:
    dns = {"mixed.example.com": ["93.184.215.14", "10.0.0.5"], "v6.example.com": ["2606:4700::1", "::1"]}
    with pytest.raises(DestinationRefused, match=r"10\.0\.0\.5"):
        check("https://mixed.example.com/", dns=dns)
    with pytest.raises(DestinationRefused, match="loopback"):
        check("https://v6.example.com/", dns=dns)


def test_names_that_resolve_to_metadata_or_nothing_are_refused() -> None:
    dns = {"evil.example.com": ["169.254.169.254"], "empty.example.com": []}
    with pytest.raises(DestinationRefused, match="metadata"):
        check("http://evil.example.com/latest/meta-data/", dns=dns)
    with pytest.raises(DestinationRefused):
        check("http://empty.example.com/", dns=dns)
    with pytest.raises(DestinationRefused):
        check("http://unknown.example.com/", dns=dns)


def test_localhost_names_are_loopback_whatever_dns_says() -> None:
    dns = {"localhost": ["93.184.215.14"], "app.localhost": ["93.184.215.14"]}
    for url in ("http://localhost:8000/", "http://app.localhost/", "http://LOCALHOST./"):
        with pytest.raises(DestinationRefused, match="loopback"):
            check(url, dns=dns)


def test_allow_list_permits_cidrs_and_exact_host_ports_only() -> None:
    allow = AllowList.parse(["10.0.0.0/8", "127.0.0.1:8400", "crm.internal:443", "[::1]:9000"])
    with pytest.raises(DestinationRefused):
        check("http://10.2.3.4:5555/")
    assert check("http://10.2.3.4:5555/", allow=allow) is not None
    assert check("http://127.0.0.1:8400/v1", allow=allow) is not None
    assert check("http://[::1]:9000/", allow=allow) is not None
    assert check("https://crm.internal/", allow=allow, dns={"crm.internal": ["192.168.4.4"]}) is not None
    with pytest.raises(DestinationRefused):
        check("http://127.0.0.1:8401/", allow=allow)  # another port
    with pytest.raises(DestinationRefused):
        check("https://crm.internal:8443/", allow=allow, dns={"crm.internal": ["192.168.4.4"]})
    with pytest.raises(DestinationRefused):
        check("http://192.168.1.1/", allow=allow)


def test_a_wide_allow_list_entry_does_not_open_the_metadata_endpoint() -> None:
    wide = AllowList.parse(["169.254.0.0/16", "0.0.0.0/0"])
    with pytest.raises(DestinationRefused, match="metadata"):
        check("http://169.254.169.254/latest/meta-data/", allow=wide)
    assert check("http://169.254.1.1/", allow=wide) is not None
    exact = AllowList.parse(["169.254.169.254/32"])
    assert check("http://169.254.169.254/", allow=exact) is not None


def test_allow_list_entries_are_validated_and_read_from_the_environment() -> None:
    with pytest.raises(ConfigError):
        AllowList.parse(["not an entry"])
    with pytest.raises(ConfigError):
        AllowList.parse(["host:99999"])
    env = AllowList.from_environment({"TRADEWIRE_EGRESS_ALLOW": "127.0.0.1:8400, 10.0.0.0/8"})
    assert env.permits_endpoint("127.0.0.1", 8400)
    assert env.permits_address(ipaddress.ip_address("10.9.9.9"), 80)
    assert not AllowList.from_environment({}).endpoints
    assert issubclass(DestinationRefused, PermanentError)


class _Recorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True})


def test_transport_pins_the_checked_address_and_keeps_host_and_sni() -> None:
    """DNS rebinding: the resolver answers public once, private after; the request goes to the checked IP."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    inner = _Recorder()

    async def main() -> None:
        transport = GuardedTransport(inner, allow=NOTHING, resolver=rebinding, connect_timeout=2.5)
        async with httpx.AsyncClient(transport=transport, timeout=30.0) as http:
            await http.get("https://rebind.example.com/v1/members")
            with pytest.raises(DestinationRefused):
                await http.get("https://rebind.example.com/v1/members")

    asyncio.run(main())
    assert len(inner.requests) == 1
    sent = inner.requests[0]
    assert sent.url.host == "93.184.215.14"
    assert sent.headers["host"] == "rebind.example.com"
    assert sent.extensions["sni_hostname"] == "rebind.example.com"
    assert sent.extensions["timeout"]["connect"] == 2.5
    assert sent.extensions["timeout"]["read"] == 30.0


def test_transport_refuses_before_anything_is_sent() -> None:
    inner = _Recorder()

    async def main() -> None:
        transport = GuardedTransport(inner, allow=NOTHING, resolver=fake_dns({}))
        async with httpx.AsyncClient(transport=transport) as http:
            for url in ("http://169.254.169.254/", "http://[::ffff:127.0.0.1]/", "http://0x7f.1/"):
                with pytest.raises(DestinationRefused):
                    await http.get(url)

    asyncio.run(main())
    assert inner.requests == []


def test_the_system_resolver_tells_missing_names_from_resolver_trouble(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from tradewire.connectors.base import ssrf
    from tradewire.errors import RetryableError

    async def resolve(error: int) -> list[str]:
        loop = asyncio.get_running_loop()

        async def failing(*args: object, **kwargs: object) -> object:
            raise socket.gaierror(error, "resolver says no")

        monkeypatch.setattr(loop, "getaddrinfo", failing)
        return await ssrf.system_resolver("api.example.com", 443)

    with pytest.raises(DestinationRefused, match="does not resolve"):
        asyncio.run(resolve(socket.EAI_NONAME))
    with pytest.raises(RetryableError, match="right now"):
        asyncio.run(resolve(socket.EAI_AGAIN))


def test_the_system_resolver_returns_every_address() -> None:
    from tradewire.connectors.base import ssrf

    addresses = asyncio.run(ssrf.system_resolver("localhost", 80))
    assert addresses
    assert all(ipaddress.ip_address(a).is_loopback for a in addresses)
