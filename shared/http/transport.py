"""An httpx transport for the ESP calls: HTTP/1.1 keep-alive over asyncio, parsed by httptools.

The sender's ESP adapters and the ESP simulator's webhook outbox post through it
(`shared.http.direct`), keeping httpx's client (requests, responses, timeouts, its
errors); only what is under `AsyncClient.send` changes. httpx's own transport (httpcore
over anyio, parsed by h11, pure Python) cost 490 µs of CPU per call with the client's
layer 585, and a connection on an asyncio protocol parsed by httptools (the C parser
uvicorn uses) 35 (`bench/results/20261203T2215Z-esp-transport/`): one call carries 50
emails, so it was about 11 µs of the sender's CPU per email.

What it does, and does not:

- HTTP/1.1 only, one request at a time per connection (no pipelining); `http://` and
  `https://` (certificates verified with httpx's default context unless one is given);
  no proxies.
- Connections are kept alive per origin and reused while the server keeps them (its
  `Connection: close`, an HTTP/1.0 answer, a close seen on the idle connection or
  `keepalive_expiry_s` of idleness end one). At most `connections` calls are in flight;
  a call waits up to the request's `pool` timeout for one to end (`httpx.PoolTimeout`).
- A response is read whole (ESP answers are small) up to `max_response_bytes`; bodies of
  a known length, chunked, or up to the server's close. Its `Content-Encoding` is decoded
  by httpx as usual.
- Timeouts are the request's (`connect`, `write`, `read`, `pool`); a connection that
  timed out or failed mid-call is closed, never reused.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import Any, cast

import httptools
import httpx

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: writes a request, gathers its response."""

    def __init__(self, max_response_bytes: int) -> None:
        self._max = max_response_bytes
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[httpx.Response] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._request: httpx.Request | None = None
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._headers_done = False
        self._delimited = True  # the body's end is known (length or chunks), not the close
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0

    # asyncio's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (`create_connection`); not checked with isinstance: uvloop's
        # (FANOUT_EVENT_LOOP=uvloop) do not derive from asyncio's classes
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():
            self.close()  # bytes nobody asked for: the connection's state is unknown
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed response: {exc}"))

    def eof_received(self) -> bool | None:
        return None  # asyncio closes the transport; connection_lost ends the call

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)  # the answer below says what became of the call
        if self._answer is None or self._answer.done():
            return
        if self._headers_done and not self._delimited:
            self._finish()  # the body ran to the server's close
        else:
            why = f": {exc}" if exc is not None else ""
            self._fail(httpx.RemoteProtocolError(f"server disconnected mid-response{why}"))

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # httptools' side

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:
                self._fail(httpx.RemoteProtocolError("the server switched protocols"))
            self._headers = []  # an interim answer: the real one follows
            return
        self._status = status
        self._headers_done = True
        names = {name.lower() for name, _ in self._headers}
        self._delimited = b"content-length" in names or b"transfer-encoding" in names
        if self._request is not None and self._request.method == "HEAD":
            self.reusable = False  # the parser would wait for a body a HEAD answer lacks
            self._finish()

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max:
            self._fail(httpx.RemoteProtocolError(f"response longer than {self._max:,} bytes"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if not self._headers_done:
            return  # the end of an interim (1xx) answer
        self.reusable = self._parser.should_keep_alive()
        self._finish()

    # the call

    async def call(
        self, request: httpx.Request, body: bytes, timeouts: dict[str, Any]
    ) -> httpx.Response:
        """Write `request` and wait for its response; the connection is reusable after it
        only if `reusable` (else the caller closes it)."""
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._request = request
        self._status, self._headers, self._body, self._size = 0, [], [], 0
        self._headers_done, self._delimited, self.reusable = False, True, False
        transport = self._transport
        if transport is None or self.closed:
            raise httpx.RemoteProtocolError("connection closed", request=request)
        transport.write(_head(request, len(body)) + body)  # one send for head and body
        try:
            if self._writable is not None:
                async with asyncio.timeout(timeouts.get("write")):
                    await self._writable
            async with asyncio.timeout(timeouts.get("read")):
                return await self._answer
        except TimeoutError as exc:
            waiting_to_write = self._writable is not None
            self.close()
            if waiting_to_write:
                raise httpx.WriteTimeout("write timed out", request=request) from exc
            raise httpx.ReadTimeout("read timed out", request=request) from exc
        except httpx.TransportError as exc:
            self.close()
            exc.request = request
            raise
        except BaseException:
            self.close()  # cancelled mid-call: the answer would land on the next call
            raise
        finally:
            self._request = None

    def close(self) -> None:
        """Close the connection; a call still waiting for its answer (timed out or
        cancelled: its caller has gone) gets none."""
        self.reusable = False
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()  # else its failure at the close is never retrieved
        if self._transport is not None:
            self._transport.close()

    def _finish(self) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(
                httpx.Response(
                    self._status,
                    headers=self._headers,
                    stream=httpx.ByteStream(b"".join(self._body)),
                    extensions={"http_version": b"HTTP/1.1"},
                )
            )

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)
        if self._transport is not None:
            self._transport.close()


def _head(request: httpx.Request, length: int) -> bytes:
    url = request.url
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), url.raw_path)]
    has_length = False
    for name, value in request.headers.raw:
        lowered = name.lower()
        if lowered == b"content-length":
            has_length = True
        elif lowered == b"transfer-encoding":
            continue  # the body is sent whole, with its length
        lines.append(b"%s: %s\r\n" % (name, value))
    if not has_length and (length or request.method in ("POST", "PUT", "PATCH")):
        lines.append(b"Content-Length: %d\r\n" % length)
    lines.append(b"\r\n")
    return b"".join(lines)


class Http11Transport(httpx.AsyncBaseTransport):
    """httpx's `transport=` for the ESP adapters and the webhook outbox (module docstring)."""

    def __init__(
        self,
        *,
        connections: int = 16,
        keepalive_expiry_s: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._slots = asyncio.Semaphore(connections)
        self._connections = connections
        self._expiry = keepalive_expiry_s
        self._ssl = ssl_context
        self._max_response = max_response_bytes
        self._idle: dict[Origin, deque[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        body = await request.aread()
        if self._closed:
            raise RuntimeError("the transport is closed")
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no connection came free in time", request=request) from exc
        try:
            origin = _origin(request.url)
            connection = self._reuse(origin) or await self._connect(origin, request, timeouts)
            response = await connection.call(request, body, timeouts)
            if connection.reusable and not self._closed:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(origin, deque()).append(connection)
                self._trim()
            else:
                connection.close()
            return response
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()

    def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used: the likeliest still open
            if not connection.closed and now - connection.idle_since < self._expiry:
                return connection
            connection.close()
        return None

    def _trim(self) -> None:
        """Close the oldest idle connections beyond `connections` (origins change rarely)."""
        total = sum(len(idle) for idle in self._idle.values())
        for idle in self._idle.values():
            while total > self._connections and idle:
                idle.popleft().close()
                total -= 1

    async def _connect(
        self, origin: Origin, request: httpx.Request, timeouts: dict[str, Any]
    ) -> _Connection:
        scheme, host, port = origin
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            tls = self._ssl
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self._max_response),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"connecting to {host}:{port} timed out", request=request
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{host}:{port}: {exc}", request=request) from exc
        return connection


def _origin(url: httpx.URL) -> Origin:
    scheme = url.scheme
    if scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"{scheme!r} is not http or https")
    port = url.port or (443 if scheme == "https" else 80)
    return scheme, url.host, port
