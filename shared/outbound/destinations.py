"""Which URLs Fanout may POST webhooks to: the defence against server-side request forgery.

A webhook URL is chosen by a tenant and called from inside Fanout's network, so outside
`development` and `test` (or whenever `FANOUT_WEBHOOK_PRIVATE_DESTINATIONS=false`)
an endpoint must be `https` and must not reach loopback,
private, link-local (cloud metadata at 169.254.169.254), shared, multicast or reserved
addresses. `check_url` refuses such URLs when they are registered (an IP literal at
once; a name when it resolves to one); `check_resolved` is run again before every
attempt, because a name's answer can change after registration (DNS rebinding). What
remains (a name re-pointed between that check and the connection) is for an egress
proxy or network policy to close: docs/security.md.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from shared.settings import CommonSettings

MAX_URL = 2000
RESOLVE_TIMEOUT_S = 5.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(ValueError):
    """A URL webhooks may not be sent to; the message says why."""


def allows_private(common: CommonSettings) -> bool:
    """`FANOUT_WEBHOOK_PRIVATE_DESTINATIONS`; unset, only local stacks and tests (which
    call receivers on loopback over plain http) allow them."""
    if common.webhook_private_destinations is not None:
        return common.webhook_private_destinations
    return common.environment in ("development", "test")


def _parts(url: str, *, allow_private: bool) -> SplitResult:
    if len(url) > MAX_URL:
        raise DestinationRefused(f"longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise DestinationRefused(f"not a URL: {exc}") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise DestinationRefused(f"the scheme must be {' or '.join(allowed)}")
    if not parts.hostname:
        raise DestinationRefused("has no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("must not carry credentials (user:password@)")
    if parts.fragment:
        raise DestinationRefused("must not have a #fragment")
    return parts


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        found = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError) as exc:
        raise DestinationRefused(f"the host {host} does not resolve") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]


async def check_resolved(url: str, *, allow_private: bool) -> None:
    """Refuse `url` unless it may be called now (its host resolves to public addresses)."""
    parts = _parts(url, allow_private=allow_private)
    if allow_private:
        return
    host = parts.hostname or ""
    literal = _literal(host)
    addresses = [literal] if literal else await _resolve(host, parts.port or 443)
    private = [str(a) for a in addresses if not _is_public(a)]
    if private:
        raise DestinationRefused(
            f"the host {host} is a loopback, private or reserved address ({private[0]})"
        )


async def check_url(url: str, *, allow_private: bool) -> str:
    """`url` if endpoints may be registered with it; `DestinationRefused` saying why."""
    await check_resolved(url, allow_private=allow_private)
    return url
