"""The ASGI middleware that gives every POST of the app `Idempotency-Key` semantics.

    app.add_middleware(IdempotencyKeys, ttl_s=86_400)

It sits outside the app's exception handlers, so it sees every answer as the client
would (problem documents included) and stores it before the client gets it: a
client that timed out and retries is answered from the store. The caller's account
comes from its API key (`shared.auth.check_key`); an unauthenticated request passes
through untouched and gets the route's 401. See the package docstring for the rules.
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

import asyncpg
import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.campaign_api.idempotency import store
from services.campaign_api.idempotency.first_request import FirstRequest
from services.campaign_api.idempotency.request import (
    HEADER,
    Fingerprint,
    MalformedKey,
    parse_key,
    read_body,
)
from shared import metrics
from shared.auth import check_key
from shared.http.problems import ProblemError, field_error, problem_response

log = structlog.get_logger(__name__)

REPLAYED_HEADER = "Idempotent-Replayed"
IN_PROGRESS_RETRY_S = 1


class IdempotencyKeys:
    """Replays the stored answer of a request retried with the same `Idempotency-Key`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        ttl_s: float,
        lease_s: float = 60.0,
        methods: Collection[str] = ("POST",),
    ) -> None:
        self.app = app
        self.ttl_s = ttl_s
        self.lease_s = lease_s
        self.methods = frozenset(methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = Headers(scope=scope).get(HEADER) if scope["type"] == "http" else None
        if raw is None or scope["method"] not in self.methods:
            await self.app(scope, receive, send)
            return
        try:
            key = parse_key(raw)
        except MalformedKey as exc:
            await _problem(400, str(exc), "idempotency_key")(scope, receive, send)
            return
        pool: asyncpg.Pool = scope["app"].state.pool
        account = await _account(pool, scope)
        if account is None:  # the route's authentication answers 401
            await self.app(scope, receive, send)
            return
        held = await store.claim(pool, account, key, ttl_s=self.ttl_s, lease_s=self.lease_s)
        metrics.IDEMPOTENT_REQUESTS.labels(outcome=_outcome(held)).inc()
        if isinstance(held, store.Claimed):
            first = FirstRequest(self.app, held)
            await first.run(scope, receive, send)
        elif isinstance(held, store.InProgress):
            detail = f"a request with this {HEADER} is still in progress; retry when it is done"
            headers = {"Retry-After": str(IN_PROGRESS_RETRY_S)}
            await _problem(409, detail, "idempotency_key_in_progress", headers)(
                scope, receive, send
            )
        else:
            await _replay(held, scope, receive, send)


async def _account(pool: asyncpg.Pool, scope: Scope) -> UUID | None:
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return (await check_key(pool, token.strip())).account_id


def _outcome(held: store.Claim) -> str:
    if isinstance(held, store.Claimed):
        return "first"
    return "in_progress" if isinstance(held, store.InProgress) else "stored"


async def _replay(stored: store.StoredAnswer, scope: Scope, receive: Receive, send: Send) -> None:
    """The stored answer if this request is the first one again, else 422 (or 413)."""
    fingerprint = Fingerprint(scope)
    try:
        await read_body(receive, fingerprint)
    except ProblemError as exc:  # the body passed its size limit while being read
        await problem_response(exc.status, exc.detail)(scope, receive, send)
        return
    if fingerprint.digest() != stored.fingerprint:
        metrics.IDEMPOTENT_REQUESTS.labels(outcome="mismatch").inc()
        detail = (
            f"this {HEADER} was first used with a different request (method, path, query or "
            "body); send a new key for a new request"
        )
        await _problem(422, detail, "idempotency_key_reused")(scope, receive, send)
        return
    headers = [*stored.headers, (REPLAYED_HEADER, "true")]
    start = {
        "type": "http.response.start",
        "status": stored.status,
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }
    await send(start)
    await send({"type": "http.response.body", "body": stored.body})


def _problem(status: int, detail: str, kind: str, headers: dict[str, str] | None = None) -> ASGIApp:
    error = field_error(["header", HEADER], detail, kind)
    return problem_response(status, detail, errors=[error], headers=headers)
