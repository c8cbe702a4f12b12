"""The first request with a key: run it, store its answer, only then send the answer.

The body is fingerprinted as the app reads it; what the app left unread (a launch
has no body parameter) is read before the answer is stored, so a retry is compared
with the whole first request. A lease on the key is renewed while the app runs.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.campaign_api.idempotency import store
from services.campaign_api.idempotency.request import Fingerprint
from shared.http.problems import ProblemError

log = structlog.get_logger(__name__)

# The headers that describe an answer; replays carry them (rate limits and dates are fresh).
KEPT_HEADERS = frozenset(
    {"content-type", "content-length", "content-language", "location", "content-location",
     "link", "etag", "last-modified", "retry-after"}
)  # fmt: skip


def _stored_status(status: int) -> bool:
    """A 5xx was rolled back and a 429 never ran: their keys stay free for a retry."""
    return status < 500 and status != 429


class FirstRequest:
    """Runs the app for the request that claimed the key and settles the key afterwards."""

    def __init__(self, app: ASGIApp, claimed: store.Claimed) -> None:
        self.app = app
        self.claimed = claimed
        self._fingerprint: Fingerprint | None = None
        self._body_read = False
        self._settled = False
        self._start: Message | None = None
        self._answer = bytearray()

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; the key holds its answer, or is free again if it kept none."""
        self._fingerprint = Fingerprint(scope)
        heartbeat = asyncio.create_task(self._renew_lease())

        async def hashing_receive() -> Message:
            return await self._receive(receive)

        async def capturing_send(message: Message) -> None:
            await self._send(message, hashing_receive, send)

        try:
            await self.app(scope, hashing_receive, capturing_send)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            if not self._settled:  # the app crashed or never answered
                await self._release()

    async def _receive(self, receive: Receive) -> Message:
        message = await receive()
        if message["type"] == "http.request":
            assert self._fingerprint is not None
            self._fingerprint.update(message.get("body", b""))
            self._body_read = not message.get("more_body", False)
        elif message["type"] == "http.disconnect":
            self._body_read = True
        return message

    async def _send(self, message: Message, receive: Receive, send: Send) -> None:
        if message["type"] == "http.response.start":
            self._start = message
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        self._answer += message.get("body", b"")
        if message.get("more_body", False):
            return
        assert self._start is not None
        await self._settle(self._start["status"], receive)
        await send(self._start)
        await send({"type": "http.response.body", "body": bytes(self._answer)})

    async def _settle(self, status: int, receive: Receive) -> None:
        self._settled = True
        if not _stored_status(status) or not await self._read_rest(receive):
            await self._release()
            return
        assert self._start is not None and self._fingerprint is not None
        headers = [
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in self._start.get("headers", [])
            if name.decode("latin-1").lower() in KEPT_HEADERS
        ]
        digest = self._fingerprint.digest()
        answer = store.StoredAnswer(digest, status, headers, bytes(self._answer))
        try:
            await self.claimed.complete(answer)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            # The client still gets its answer; the key's lease lapses and a retry acts again.
            log.warning("idempotency.store_failed", error=repr(exc))

    async def _release(self) -> None:
        try:
            await self.claimed.release()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("idempotency.release_failed", error=repr(exc))  # the lease lapses

    async def _read_rest(self, receive: Receive) -> bool:
        """Fingerprint the body the app left unread; False if it passed its size limit."""
        try:
            while not self._body_read:
                await receive()
        except ProblemError:
            return False
        return True

    async def _renew_lease(self) -> None:
        while True:
            await asyncio.sleep(self.claimed.lease_s / 3)
            try:
                await self.claimed.renew()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("idempotency.renew_failed", error=repr(exc))
