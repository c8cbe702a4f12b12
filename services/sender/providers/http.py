"""HTTP plumbing the ESP adapters share: one call, and what a refused call means.

A call that never got an answer (timeout, refused connection, reset) and the
answers 429 and 5xx are `ProviderRetryable`, with the delay the provider asked
for. Any other refusal is `ProviderRequestError`: the delivery step pauses the
campaign on 401 and 403 (bad credentials, suspended account) and fails the
recipients on the rest, unless the adapter reads the answer first (a 400 that
names the recipients at fault, say).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import httpx

from services.sender.providers.base import ProviderRetryable
from services.sender.providers.errors import ProviderRequestError, retry_after_seconds
from shared.http.direct import direct_client


class AdapterClient:
    """An adapter's HTTP client: the one it was given (whoever gave it closes it) or one it
    made for itself, closed with the adapter."""

    def __init__(
        self, given: httpx.AsyncClient | None, make: Callable[[], httpx.AsyncClient]
    ) -> None:
        self.http = given if given is not None else make()
        self._owned = given is None

    async def aclose(self) -> None:
        """Close the client if the adapter made it."""
        if self._owned:
            await self.http.aclose()


class HttpOptions(Protocol):
    """What an HTTP adapter's configuration says about its client."""

    @property
    def timeout_s(self) -> float:
        """Timeout of one call."""

    @property
    def connections(self) -> int:
        """HTTP connections kept open."""


C = TypeVar("C", bound=HttpOptions)


class HttpAdapter(Generic[C]):
    """What the HTTP adapters of ESPs without a published send rate share: their
    configuration, their client (given, or made from the configuration and closed with
    the adapter) and their answer to `max_send_rate`."""

    def __init__(self, config: C, http_client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = AdapterClient(
            http_client, lambda: direct_client(config.timeout_s, config.connections)
        )
        self._http = self._client.http

    async def max_send_rate(self) -> float | None:
        """No per-second quota is published: the sender's budget and the 429s rule."""
        return None

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        await self._client.aclose()


async def call(
    http: httpx.AsyncClient, provider: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """The provider's answer to one request; `ProviderRetryable` when there is none."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderRetryable(f"{provider} timeout: {exc.__class__.__name__}") from exc
    except httpx.TransportError as exc:
        raise ProviderRetryable(f"{provider} unreachable: {exc.__class__.__name__}") from exc


def refusal(
    provider: str, response: httpx.Response, reason: str, retry_after: float | None = None
) -> Exception:
    """The exception a refused call raises: retryable for 429 and 5xx, else a request error."""
    status = response.status_code
    if status == 429 or status >= 500:
        if retry_after is None:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return ProviderRetryable(f"{provider} HTTP {status}: {reason}", retry_after)
    return ProviderRequestError(provider, status, reason)


def body_reason(response: httpx.Response, *keys: str) -> str:
    """The first of `keys` in a JSON object answer, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        for key in keys:
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300]
