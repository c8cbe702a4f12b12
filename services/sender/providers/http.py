"""HTTP plumbing the ESP adapters share: one call, and what a refused call means.

A call that never got an answer (timeout, refused connection, reset) and the
answers 429 and 5xx are `ProviderRetryable`, with the delay the provider asked
for. Any other refusal is `ProviderRequestError`: the delivery step pauses the
campaign on 401 and 403 (bad credentials, suspended account) and fails the
recipients on the rest, unless the adapter reads the answer first (a 400 that
names the recipients at fault, say).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

import httpx

from services.sender.providers.base import ProviderRetryable
from services.sender.providers.errors import ProviderRequestError, retry_after_seconds
from services.sender.providers.transport import Http11Transport


class EspClient(httpx.AsyncClient):
    """httpx's client for the ESP calls: a plain call goes straight to the ESP transport,
    and no response leaves a reference cycle behind.

    A plain call is what the adapters make: no auth flow (the credentials are headers, or
    the call falls back), no redirect to follow, no event hooks, not streamed, on the
    client's own `Http11Transport` (no proxy mounts). `request`/`post` still build the
    request (the client's headers, timeouts and parameters merged as httpx merges them);
    only `send`'s machinery around the transport is skipped: the auth and redirect flows,
    the stream bound to the response and cookie extraction (no ESP API keeps state in
    cookies; a `Set-Cookie` is not sent back). That machinery was 89 µs of CPU per call
    of 253 (`bench/results/20261204T0645Z-httpx-client-layer/`), 1.8 µs per email.
    Anything else goes through httpx's `send` unchanged.

    httpx binds every response's stream to the response (to time it when it closes): a
    cycle, with the request, its URL and headers hanging off it, which only the garbage
    collector frees (~5,000 objects a second in the sender). A response read in full
    here holds its body as its stream instead, and reference counting frees it."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any):
        super().__init__(transport=transport, **kwargs)
        self._direct: Http11Transport | None = None
        if (
            isinstance(transport, Http11Transport)
            and not kwargs.get("mounts")
            and not (self.trust_env and urllib.request.getproxies_environment())
        ):
            self._direct = transport

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """`httpx.AsyncClient.send`, straight to the transport for a plain call; a response
        read in full holds its body as its stream."""
        if stream or not self._plain(request, auth, follow_redirects):
            response = await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
            if not stream and response.is_closed:
                response.stream = httpx.ByteStream(response.content)
            return response
        assert self._direct is not None  # `_plain` checked it
        if self.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        request.extensions.setdefault("timeout", self.timeout.as_dict())
        started = time.perf_counter()
        response = await self._direct.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        response.stream = httpx.ByteStream(response.content)
        return response

    def _plain(self, request: httpx.Request, auth: Any, follow_redirects: Any) -> bool:
        default_auth = isinstance(auth, type(httpx.USE_CLIENT_DEFAULT))
        follow = (
            self.follow_redirects
            if isinstance(follow_redirects, type(httpx.USE_CLIENT_DEFAULT))
            else follow_redirects
        )
        return (
            self._direct is not None
            and (auth is None or (default_auth and self.auth is None))
            and not request.url.userinfo  # credentials in the URL mean basic auth
            and not follow
            and not any(self.event_hooks.values())
        )


def client(timeout_s: float, connections: int = 16) -> httpx.AsyncClient:
    """A client keeping up to `connections` alive, for one adapter, on the ESP transport
    (`transport.py`: a third of httpx's default CPU per call); on httpx's own when the
    environment names a proxy (`HTTPS_PROXY` and the like), which only httpx's follows."""
    if urllib.request.getproxies_environment():
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return EspClient(timeout=timeout_s, limits=limits)
    return EspClient(timeout=timeout_s, transport=Http11Transport(connections=connections))


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
            http_client, lambda: client(config.timeout_s, config.connections)
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
