"""Tests for pipeline.addresses: which resolved addresses newswatch may contact (SSRF guard).

Table-driven over address spellings. DNS names go through a resolver function written here
(a dictionary lookup), so no test depends on real DNS; numeric spellings go through the system
resolver, which parses them without any network traffic.
"""

from __future__ import annotations

import ipaddress

import pytest

from pipeline.addresses import AddressPolicy, Resolver, refusal
from pipeline.errors import BlockedAddressError, ConnectError

# (address, a word the refusal must contain)
REFUSED = [
    # IPv4 private ranges and their edges
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.0.1", "private"),
    ("192.168.255.255", "private"),
    # loopback, link-local, metadata
    ("127.0.0.1", "loopback"),
    ("127.0.0.2", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.0.1", "link-local"),
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("100.100.100.200", "metadata"),
    ("192.0.0.192", "metadata"),
    # shared address space (CGNAT, 100.64.0.0/10)
    ("100.64.0.1", "routable"),
    ("100.127.255.254", "routable"),
    # unspecified, broadcast, multicast, reserved, documentation, benchmarking
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "private"),
    ("255.255.255.255", "private"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "private"),
    ("192.0.2.10", "private"),
    ("198.18.0.1", "private"),
    ("198.51.100.7", "private"),
    ("203.0.113.9", "private"),
    # IPv6
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%2", "link-local"),  # with a zone index, as getaddrinfo returns it
    ("fec0::1", "site-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "private"),
    ("fd00:ec2::254", "metadata"),
    # IPv4 inside IPv6
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:7f00:2", "loopback"),
    ("::ffff:169.254.169.254", "metadata"),
    ("::ffff:100.64.0.1", "routable"),
    ("2002:a9fe:a9fe::", "metadata"),  # 6to4 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
    ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a00:1", "private"),
    ("64:ff9b:1::a00:1", "reserved"),  # local-use NAT64 prefix
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"),  # Teredo
    ("::127.0.0.1", "reserved"),  # deprecated IPv4-compatible form
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "11.0.0.1",  # just above 10/8
    "100.128.0.1",  # just above CGNAT
    "172.32.0.1",  # just above 172.16/12
    "169.255.0.1",  # just above link-local
    "223.255.255.254",  # just below multicast
    "2606:4700:4700::1111",
    "2a00:1450:4001:81c::200e",
    "2002:808:808::",  # 6to4 of a public address
    "64:ff9b::808:808",  # NAT64 of a public address: IPv4-only sites seen from IPv6-only hosts
    "::ffff:8.8.8.8",  # IPv4-mapped public address
]


@pytest.mark.parametrize(("address", "word"), REFUSED, ids=[a for a, _ in REFUSED])
def test_internal_addresses_are_refused(address: str, word: str) -> None:
    why = refusal(ipaddress.ip_address(address.split("%", 1)[0]))
    assert why is not None
    assert word in why


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def resolver_from(table: dict[str, list[str]], calls: list[str] | None = None) -> Resolver:
    """A resolver function answering from ``table``; records the names it was asked."""

    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise ConnectError(f"cannot resolve {host}")
        return table[host]

    return resolve


DNS = {
    "news.example": ["93.184.216.34"],
    "dual.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "rebind.test": ["10.0.0.7"],
    "loopback.test": ["127.0.0.1"],
    "mixed.test": ["93.184.216.34", "192.168.1.20"],
    "v6-link.test": ["2606:4700:4700::1111", "fe80::1%2"],
    "metadata-alias.test": ["169.254.169.254"],
    "mapped.test": ["::ffff:10.1.2.3"],
    "empty.test": [],
    "intranet.example": ["10.20.30.40"],
}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("news.example", DNS["news.example"]),
        ("dual.example", DNS["dual.example"]),
        ("NEWS.Example.", DNS["news.example"]),
    ],
)
def test_names_resolving_to_public_addresses_are_allowed(host: str, expected: list[str]) -> None:
    policy = AddressPolicy(resolver=resolver_from(DNS))
    assert policy.vetted_addresses(host, 443) == expected


@pytest.mark.parametrize(
    "host",
    [
        "rebind.test",
        "loopback.test",
        "mixed.test",
        "v6-link.test",
        "metadata-alias.test",
        "mapped.test",
    ],
)
def test_names_resolving_to_internal_addresses_are_refused(host: str) -> None:
    # "mixed" names are refused as a whole: which answer a connection uses is not ours to pick.
    policy = AddressPolicy(resolver=resolver_from(DNS))
    with pytest.raises(BlockedAddressError, match=host):
        policy.vetted_addresses(host, 80)


@pytest.mark.parametrize(
    "host",
    [
        "metadata.google.internal",
        "METADATA.GOOGLE.INTERNAL.",
        "metadata",
        "instance-data",
        "[metadata.google.internal]",
    ],
)
def test_metadata_names_are_refused_before_resolving(host: str) -> None:
    calls: list[str] = []
    policy = AddressPolicy(resolver=resolver_from({"metadata.google.internal": ["8.8.8.8"]}, calls))
    with pytest.raises(BlockedAddressError, match="metadata"):
        policy.vetted_addresses(host, 80)
    assert calls == []


@pytest.mark.parametrize(
    "spelling",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0x7f.1",
        "127.1",
        "017700000001",
        "0177.0.0.1",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "0",
        "10.1",
        "0xa9.0xfe.0xa9.0xfe",
        "2852039166",
    ],
)
def test_numeric_spellings_are_refused_on_what_they_mean(spelling: str) -> None:
    # The system resolver turns inet_aton spellings into addresses without any lookup.
    with pytest.raises(BlockedAddressError):
        AddressPolicy().vetted_addresses(spelling, 80)


def test_unresolvable_and_empty_answers_are_connect_errors() -> None:
    policy = AddressPolicy.from_hosts(
        ["intranet.example", "empty.test"], resolver=resolver_from(DNS)
    )
    with pytest.raises(ConnectError):
        policy.vetted_addresses("nowhere.test", 80)
    with pytest.raises(ConnectError):
        policy.vetted_addresses("empty.test", 80)  # allowed, but there is nothing to connect to
    with pytest.raises(ConnectError):
        AddressPolicy(resolver=resolver_from(DNS)).vetted_addresses("empty.test", 80)


# (allow_hosts entries, host as the URL spells it, port, allowed?)
ALLOW_CASES = [
    (["intranet.example"], "intranet.example", 80, True),
    (["intranet.example"], "intranet.example", 8080, True),  # no port: any port
    (["intranet.example:8080"], "intranet.example", 8080, True),
    (["intranet.example:8080"], "intranet.example", 8081, False),
    (["intranet.example:8080"], "other.example", 8080, False),
    (["Intranet.Example:8080 "], "INTRANET.example.", 8080, True),  # case, spaces, root dot
    (["127.0.0.1:8800"], "127.0.0.1", 8800, True),
    (["127.0.0.1:8800"], "127.0.0.1", 8801, False),
    (["127.0.0.1:8800"], "127.0.0.2", 8800, False),
    (["127.0.0.1:8800"], "2130706433", 8800, False),  # another spelling is not listed
    (["[::1]:8080"], "::1", 8080, True),
    (["[::1]:8080"], "[::1]", 8080, True),
    (["[::1]:8080"], "::1", 8081, False),
    (["[::1]"], "::1", 9999, True),
    (["::1"], "::1", 9999, True),
    ([], "127.0.0.1", 80, False),
    (["", "  "], "127.0.0.1", 80, False),
]


@pytest.mark.parametrize(
    ("hosts", "host", "port", "allowed"),
    ALLOW_CASES,
    ids=[f"{h}-{host}:{port}" for h, host, port, _ in ALLOW_CASES],
)
def test_allow_hosts(hosts: list[str], host: str, port: int, allowed: bool) -> None:
    table = {
        "intranet.example": ["10.20.30.40"],
        "other.example": ["10.20.30.41"],
        "127.0.0.1": ["127.0.0.1"],
        "127.0.0.2": ["127.0.0.2"],
        "2130706433": ["127.0.0.1"],
        "::1": ["::1"],
    }
    policy = AddressPolicy.from_hosts(hosts, resolver=resolver_from(table))
    assert policy.allowed_explicitly(host, port) is allowed
    if allowed:
        assert policy.vetted_addresses(host, port) == table[host.strip("[]").lower().rstrip(".")]
    else:
        with pytest.raises(BlockedAddressError):
            policy.vetted_addresses(host, port)


def test_allow_hosts_can_open_a_metadata_name_explicitly() -> None:
    policy = AddressPolicy.from_hosts(
        ["metadata:80"], resolver=resolver_from({"metadata": ["10.0.0.9"]})
    )
    assert policy.vetted_addresses("metadata", 80) == ["10.0.0.9"]
    with pytest.raises(BlockedAddressError):
        policy.vetted_addresses("metadata", 8080)
