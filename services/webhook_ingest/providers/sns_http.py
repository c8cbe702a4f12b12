"""The only outbound requests webhook_ingest makes: GETs of SNS certificates and
subscription confirmation URLs, each already checked against the SNS host rule.

A client per request (they are rare: certificates are cached, confirmations
come once per subscription) with one TLS context, no redirects followed, a
timeout, and a size cap on certificates. A certificate the host does not
have (4xx) is `Unauthorized`: the message naming it is not Amazon's. Other
failures are `ProviderUnavailable` (503): the provider retries.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

import httpx

from services.webhook_ingest.providers.base import ProviderUnavailable, Refusal, Unauthorized

CertFetcher = Callable[[str], Awaitable[bytes]]
SubscriptionConfirmer = Callable[[str], Awaitable[None]]
MAX_CERTIFICATE_BYTES = 64 * 1024


async def _get(url: str, timeout_s: float, tls: ssl.SSLContext, what: str) -> httpx.Response:
    try:
        async with httpx.AsyncClient(timeout=timeout_s, verify=tls) as client:
            return await client.get(url, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"{what} failed: {exc!r}") from exc


def https_fetcher(timeout_s: float = 10) -> CertFetcher:
    """A fetcher GETting signing certificates."""
    tls = ssl.create_default_context()

    async def fetch(url: str) -> bytes:
        response = await _get(url, timeout_s, tls, "SNS certificate fetch")
        if response.is_client_error:  # no such certificate: the message is not Amazon's
            raise Unauthorized(
                f"SNS certificate fetch answered {response.status_code}", Refusal.CERTIFICATE
            )
        if response.status_code != 200 or len(response.content) > MAX_CERTIFICATE_BYTES:
            raise ProviderUnavailable(f"SNS certificate fetch answered {response.status_code}")
        return response.content

    return fetch


def https_confirmer(timeout_s: float = 10) -> SubscriptionConfirmer:
    """A confirmer GETting a subscription's SubscribeURL."""
    tls = ssl.create_default_context()

    async def confirm(url: str) -> None:
        response = await _get(url, timeout_s, tls, "SNS subscription confirmation")
        if response.status_code != 200:
            raise ProviderUnavailable(f"SNS confirmation answered {response.status_code}")

    return confirm
