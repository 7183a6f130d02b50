"""The socket layer of fetching: every connection goes to an address the policy vetted.

httpx 0.28 has no parameter for httpcore's network backend, so :class:`GuardedTransport`
replaces the pool httpx built with an identical one that uses :class:`GuardedBackend`. The check
therefore runs on every connection, redirects and keep-alive reconnects included, on the very
address connected to; TLS still verifies the URL's host name (SNI).
"""

from __future__ import annotations

import ssl
from typing import Any

import certifi
import httpcore
import httpx

from pipeline.addresses import AddressPolicy


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy vetted, to the vetted address itself."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self._policy.vetted_addresses(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # vetted_addresses never returns an empty list
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections all go through :class:`GuardedBackend`."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )
