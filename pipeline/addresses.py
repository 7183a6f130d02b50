"""Which network addresses newswatch may contact.

Feeds and pages are hostile input: a link or a redirect can point at the machine itself, the
local network or a cloud metadata service (SSRF). We refuse any address that is not globally
routable — private, loopback, link-local, multicast, reserved, unspecified, shared (CGNAT) — plus
known metadata addresses, in IPv4 and IPv6, including IPv4 embedded in IPv6 (mapped, 6to4,
Teredo, NAT64). Numeric host spellings such as ``2130706433`` or ``0x7f.1`` need no special case:
the check runs on what the resolver returns, and the connection is made to that vetted address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipeline.errors import BlockedAddressError, ConnectError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Cloud metadata endpoints that are not caught by the ranges below on every Python version.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS IPv6
    )
)
METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "instance-data"})
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_NAT64_WELL_KNOWN = _NAT64[0]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    # Deprecated IPv4-compatible form ::a.b.c.d
    if int(ip) >> 32 == 0 and int(ip) > 1:
        found.append(ipaddress.IPv4Address(int(ip)))
    return found


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be contacted, or None when it is a public address."""
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4-mapped or well-known-prefix NAT64 address reaches exactly its IPv4 address:
        # judge that one. Python 3.11 calls the whole ranges "reserved", which refused every
        # IPv4-only site behind DNS64 (IPv6-only hosts) and every ::ffff:a.b.c.d spelling.
        inner = ip.ipv4_mapped
        if inner is None and ip in _NAT64_WELL_KNOWN:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            why = refusal(inner)
            return f"{why} embedded in IPv6" if why else None
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        # Deprecated fec0::/10 still routes inside some networks; Python calls it global.
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    )
    for hit, why in checks:
        if hit:
            return f"{why} address"
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in _embedded_ipv4(ip):
            inner_why = refusal(embedded)
            if inner_why:
                return f"{inner_why} embedded in IPv6"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver; the same call the socket layer would make."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectError(f"cannot resolve {host}: {exc}") from exc
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Decides which resolved addresses may be contacted; ``allow_hosts`` bypasses the check."""

    allow_hosts: frozenset[str] = frozenset()
    resolver: Resolver = system_resolver

    @classmethod
    def from_hosts(
        cls, hosts: Iterable[str], resolver: Resolver = system_resolver
    ) -> AddressPolicy:
        """Build a policy from ``host`` or ``host:port`` entries."""
        return cls(frozenset(h.strip().lower() for h in hosts if h.strip()), resolver)

    def allowed_explicitly(self, host: str, port: int) -> bool:
        """True when ``host`` (or ``host:port``) is listed in allow_hosts."""
        bare = host.lower().strip("[]").rstrip(".")
        shown = f"[{bare}]" if ":" in bare else bare
        return (
            bare in self.allow_hosts
            or shown in self.allow_hosts
            or (f"{shown}:{port}" in self.allow_hosts)
        )

    def vetted_addresses(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return the addresses we may connect to, or raise."""
        bare = host.lower().strip("[]").rstrip(".")
        explicit = self.allowed_explicitly(bare, port)
        if bare in METADATA_NAMES and not explicit:
            raise BlockedAddressError(f"{host} is a cloud metadata name")
        addresses = self.resolver(bare, port)
        if not addresses:
            raise ConnectError(f"{host} resolved to no address")
        if explicit:
            return addresses
        for address in addresses:
            # A name that resolves to several addresses is refused if any is internal:
            # the resolver's order decides which one a later connection would use.
            why = refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if why:
                raise BlockedAddressError(f"{host} resolves to {address}: {why}")
        return addresses
