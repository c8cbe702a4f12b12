"""httpx's client on the lean HTTP/1.1 transport (`shared.http.transport`).

The sender's ESP adapters call through it (50 emails a call), and so does the ESP
simulator's webhook outbox (a post of up to 500 events, ~200 KB): 255 µs of the posting
process's CPU per 300 KB post against 710 on httpx's own transport
(bench/results/20261205T2150Z-round28/, `post_bench.py.txt`).
"""

from __future__ import annotations

import time
import urllib.request
from datetime import timedelta
from typing import Any

import httpx

from shared.http.transport import Http11Transport


class DirectClient(httpx.AsyncClient):
    """httpx's client with a plain call going straight to its `Http11Transport`, and no
    response leaving a reference cycle behind.

    A plain call is what the sender's ESP adapters and the simulator's webhook posts
    make: no auth flow (the credentials are headers, or the call falls back), no redirect
    to follow, no event hooks, not streamed, on the client's own `Http11Transport` (no
    proxy mounts). `request`/`post` still build the request (the client's headers,
    timeouts and parameters merged as httpx merges them); only `send`'s machinery around
    the transport is skipped: the auth and redirect flows, the stream bound to the
    response and cookie extraction (no ESP API keeps state in cookies, nor does the
    webhook receiver; a `Set-Cookie` is not sent back). That machinery was 89 µs of CPU
    per call of 253 (`bench/results/20261204T0645Z-httpx-client-layer/`), 1.8 µs per
    email. Anything else goes through httpx's `send` unchanged.

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


def direct_client(timeout_s: float, connections: int = 16) -> httpx.AsyncClient:
    """A client keeping up to `connections` alive on `Http11Transport` (`transport.py`: a
    third of httpx's default CPU per call); on httpx's own when the environment names a
    proxy (`HTTPS_PROXY` and the like), which only httpx's follows."""
    if urllib.request.getproxies_environment():
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return DirectClient(timeout=timeout_s, limits=limits)
    return DirectClient(timeout=timeout_s, transport=Http11Transport(connections=connections))
