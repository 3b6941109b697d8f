"""Where a webhook may be sent: public internet addresses only.

A subscription names a URL, and notify POSTs to it from inside the office's network, so an
unchecked URL would let anyone who may subscribe make notify call the database, the
broker, a router's admin page or a cloud metadata service (SSRF). Every address is
checked twice: the URL when the subscription is created, and every address its host name
resolves to at delivery time. The connection then goes to the checked address itself, so
a DNS answer that changes between the check and the connect (DNS rebinding) cannot move
it. Redirects are never followed (the sender's client has `follow_redirects=False`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes that carry an IPv4 address in their last 32 bits, reachable through a
# NAT64 gateway: 64:ff9b::/96 (RFC 6052) and the local-use 64:ff9b:1::/48 (RFC 8215).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


class AddressRefused(Exception):
    """A webhook target that is not a public internet address, and why."""


# The first property an address has names why it is refused; order matters only for
# the wording (a loopback address is also "not global").
_REFUSED: tuple[tuple[str, str], ...] = (
    ("is_loopback", "a loopback address"),
    ("is_unspecified", "the unspecified address"),
    ("is_link_local", "a link-local address (cloud metadata lives there)"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private network address"),
    ("is_reserved", "a reserved address"),
)


def refusal_reason(address: IPAddress) -> str | None:
    """Why notify must not connect to `address` (None: it is a public unicast address).

    IPv6 forms that embed an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are judged
    by the IPv4 address they lead to."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal_reason(embedded)
    for prop, reason in _REFUSED:
        if getattr(address, prop):
            return reason
    # Shared address space (100.64/10), benchmarking (198.18/15) and the rest IANA does
    # not route: `is_global` is Python's reading of the special-purpose registries.
    return None if address.is_global else "a non-global address"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address, the one traffic is sent to
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    """The IP address `host` spells, in any form a resolver accepts (decimal
    `2130706433`, octal `0177.0.0.1`, short `127.1`, `[::1]`), or None for a name."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        # inet_aton is what getaddrinfo falls back to: it takes the old spellings.
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def check_webhook_host(host: str, *, resolve: bool = True) -> None:
    """Refuse (AddressRefused) a webhook host that is, or resolves to, a non-public
    address. A name that does not resolve now passes: it is checked again at delivery."""
    literal = literal_address(host)
    if literal is not None:
        reason = refusal_reason(literal)
        if reason is not None:
            raise AddressRefused(f"{host} is {reason}")
        return
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise AddressRefused(f"{host} is a loopback name")
    if not resolve:
        return
    try:
        answers = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    check_resolved_addresses(host, (str(answer[4][0]) for answer in answers))


def check_resolved_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """The resolved addresses, once every one of them is public. One private answer among
    public ones refuses the host: the resolver's order decides nothing."""
    checked: list[str] = []
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        reason = refusal_reason(address)
        if reason is not None:
            raise AddressRefused(f"{host} resolves to {reason}")
        checked.append(str(address))
    if not checked:
        raise AddressRefused(f"{host} resolves to no address")
    return checked


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's TCP connect, through a resolver check: the host is resolved once, every
    answer is checked, and the socket connects to a checked address. TLS still verifies
    the certificate against the URL's host name (httpcore passes it as server_hostname).
    `allow_private_networks` (tests only) skips the check, never the pinning."""

    def __init__(self, *, allow_private_networks: bool = False) -> None:
        self._backend = httpcore.AnyIOBackend()
        self._allow_private_networks = allow_private_networks

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first checked address `host` resolves to."""
        addresses = await self._resolve(host, port)
        error: OSError | httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (OSError, httpcore.ConnectError) as exc:
                error = exc
        raise httpcore.ConnectError(str(error))

    async def _resolve(self, host: str, port: int) -> list[str]:
        try:
            answers = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        resolved = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
        if self._allow_private_networks:
            return resolved
        try:
            return check_resolved_addresses(host, resolved)
        except AddressRefused as exc:
            raise RefusedConnectError(str(exc)) from exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a webhook goes over TCP."""
        raise RefusedConnectError("webhooks are not sent over unix sockets")

    async def sleep(self, seconds: float) -> None:
        """As the wrapped backend sleeps."""
        await self._backend.sleep(seconds)


class RefusedConnectError(httpcore.ConnectError):
    """The connect was refused by the address check, not by the network."""


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over `GuardedNetworkBackend`, with no proxy from the environment
    (a proxy would make the connection the check is about)."""

    def __init__(self, *, allow_private_networks: bool = False) -> None:
        super().__init__(trust_env=False)
        context: ssl.SSLContext = httpx.create_ssl_context(trust_env=False)
        # httpx builds its pool without a way to pass a network backend; this is the same
        # pool with the guarded one (a test sends to loopback to prove it is in use).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            # httpx's own defaults.
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedNetworkBackend(allow_private_networks=allow_private_networks),
        )


def guarded_client(*, allow_private_networks: bool = False) -> httpx.AsyncClient:
    """The client webhooks are sent with: checked addresses only, no redirects, no
    proxy or credentials from the environment."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_private_networks=allow_private_networks),
        follow_redirects=False,
        trust_env=False,
    )
