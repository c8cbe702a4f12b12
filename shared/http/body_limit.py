"""One request-body limit for every HTTP service: refused before reading, or while streaming.

    app.add_middleware(BodyLimit, default=1024**2, paths={"/leads/import": 4 * 1024**3})

A declared Content-Length over the limit is answered 413 before the app runs: no
route, dependency or authentication runs. A body without one (chunked) is counted as it
arrives and refused the moment it passes the limit: the route reading it gets a
`ProblemError` (413), which the problem handlers answer. Either way the rest of the body
is read and dropped first (up to `DRAIN_BYTES` in `DRAIN_SECONDS`): uvicorn closes a
connection whose request it did not read to the end, and a close with unread bytes is a
TCP reset, which throws away the answer the client has not read yet. Measured on
uvicorn with a 1 MiB limit: 4 of 60 posts of 1.5 and 5 MB read a reset instead of the
413 when it answered at once. A body beyond the drain is answered without it.
A key of `paths` is an exact path, or a prefix when it ends with "/".

Starlette's own `RequestBodyLimitMiddleware` is not used: it answers in plain text
and only once the app reads the body or starts its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.problems import ProblemError, problem_response

DRAIN_BYTES = 16 * 1024 * 1024  # of an over-limit body read and dropped before the 413
DRAIN_SECONDS = 5.0


class BodyLimit:
    """ASGI middleware: at most `default` bytes of request body, or `paths[path]`."""

    def __init__(
        self, app: ASGIApp, *, default: int, paths: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.paths = dict(paths or {})

    def limit_for(self, path: str) -> int:
        """The limit of `path`: its own, the longest matching prefix's, or the default."""
        if path in self.paths:
            return self.paths[path]
        prefixes = [p for p in self.paths if p.endswith("/") and path.startswith(p)]
        return self.paths[max(prefixes, key=len)] if prefixes else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        refusal = _refuse_declared(Headers(scope=scope).get("content-length"), limit)
        if refusal is not None:
            if refusal.status == 413:
                await drain(receive)
            await problem_response(refusal.status, refusal.detail, headers={"Connection": "close"})(
                scope, receive, send
            )
            return
        await self.app(scope, _counting(receive, limit), send)


def too_large(limit: int) -> ProblemError:
    """The 413 for a body over `limit` bytes."""
    return ProblemError(413, f"request body larger than the limit of {limit} bytes")


def _refuse_declared(declared: str | None, limit: int) -> ProblemError | None:
    if declared is None:
        return None
    if not declared.strip().isdigit():
        return ProblemError(400, "Content-Length is not a number")
    return too_large(limit) if int(declared) > limit else None


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counting_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                if message.get("more_body", False):
                    await drain(receive)
                raise too_large(limit)
        return message

    return counting_receive


async def drain(receive: Receive) -> None:
    """Read and drop what is left of a request body, up to `DRAIN_BYTES` in `DRAIN_SECONDS`
    (the module's docstring says why)."""
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            while dropped <= DRAIN_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    break
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
