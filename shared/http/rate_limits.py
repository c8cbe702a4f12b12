"""Request rate limits per API key, announced with the IETF RateLimit header fields.

    install_rate_limits(app, "50/second;1000/minute")   # in create_app; "" turns them off

`shared.auth.current_account` counts every authenticated request against its key
(`enforce`): over a limit it answers 429 with `Retry-After`. Every answer to a counted
request carries the fields of draft-ietf-httpapi-ratelimit-headers:

    RateLimit-Policy: "second";q=50;w=1, "minute";q=1000;w=60
    RateLimit: "second";r=49;t=1, "minute";r=998;t=60

`limits` does the counting (moving window) in this process's memory: each process of
a service counts on its own, so N instances of a service allow N times the limit.
Refused (401) and idempotently replayed requests are not counted; a 429 is counted in
`fanout_rate_limited_total{policy}`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pydantic import AfterValidator, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.problems import ProblemError
from shared.metrics import RATE_LIMITED

STATE_KEY = "rate_limit_headers"  # request.state attribute the middleware reads


def check_spec(spec: str) -> str:
    """A settings validator: `spec` in `limits` notation ("50/second;1000/minute") or ""."""
    if spec.strip():
        parse_many(spec)  # ValueError names what it could not read
    return spec


RateLimitSpec = Annotated[str, AfterValidator(check_spec)]
DEFAULT_SPEC = "50/second;1000/minute"


def rate_limit_setting(default: str = DEFAULT_SPEC) -> Any:
    """The `rate_limit` field of a service whose API takes API keys."""
    return Field(
        default,
        description="Requests each API key may make, in `limits` notation (one or more, "
        '`;`-separated; "" for none), counted per process (docs/security.md).',
    )


def _name(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples}-{unit}s"


def _fields(counts: list[Count]) -> str:
    """The `RateLimit` field: each policy's remaining quota `r` and seconds `t` to more."""
    return ", ".join(f'"{_name(c.item)}";r={c.remaining};t={c.reset_s}' for c in counts)


@dataclass(frozen=True)
class Count:
    """One policy after a request: the limit, what is left and seconds until more is."""

    item: RateLimitItem
    allowed: bool
    remaining: int
    reset_in: float

    @property
    def reset_s(self) -> int:
        """`reset_in` as the whole seconds of the `t` parameter."""
        return max(0, math.ceil(self.reset_in))

    @property
    def retry_after_s(self) -> int:
        """Whole seconds after which a request is sure to pass (the window's edge counts)."""
        return max(1, math.floor(self.reset_in) + 1)


class KeyRateLimits:
    """The limits of `spec`, counted per API key; `clock` is `limits`' own (time.time)."""

    def __init__(self, spec: str, clock: Callable[[], float] = time.time) -> None:
        self.items = tuple(parse_many(spec))
        self.clock = clock
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.policy = ", ".join(f'"{_name(i)}";q={i.amount};w={i.get_expiry()}' for i in self.items)

    async def count(self, key: str) -> list[Count]:
        """Count one request of `key` against every policy."""
        counts = []
        for item in self.items:
            allowed = await self.limiter.hit(item, key)
            stats = await self.limiter.get_window_stats(item, key)
            reset_in = stats.reset_time - self.clock()
            counts.append(Count(item, allowed, max(0, stats.remaining), reset_in))
        return counts

    async def enforce(self, request: Request, key: str) -> None:
        """Count the request; 429 with `Retry-After` when a policy is exhausted."""
        counts = await self.count(key)
        headers = {
            "RateLimit-Policy": self.policy,
            "RateLimit": _fields(counts),
        }
        setattr(request.state, STATE_KEY, headers)
        refused = [c for c in counts if not c.allowed]
        if refused:
            for count in refused:
                RATE_LIMITED.labels(policy=_name(count.item)).inc()
            wait = max(c.retry_after_s for c in refused)
            over = ", ".join(str(c.item) for c in refused)
            raise ProblemError(
                429,
                f"rate limit of this API key exceeded ({over}); retry in {wait} s",
                headers={**headers, "Retry-After": str(wait)},
            )


class RateLimitHeaders:
    """ASGI middleware: adds the fields `enforce` noted to the answer, whatever it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # shared by the scope copies inner layers make

        async def send_with_fields(message: Message) -> None:
            noted = state.get(STATE_KEY)
            if message["type"] == "http.response.start" and noted:
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in noted.items()
                    if name.lower().encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_fields)


def install_rate_limits(app: FastAPI, spec: str) -> None:
    """Limit the app's authenticated requests per API key (nothing when `spec` is "")."""
    if spec.strip():
        app.state.rate_limits = KeyRateLimits(spec)
        app.add_middleware(RateLimitHeaders)


async def enforce_rate_limit(request: Request, key: str) -> None:
    """Count an authenticated request of `key` if the app has limits (`install_rate_limits`)."""
    limits: KeyRateLimits | None = getattr(request.app.state, "rate_limits", None)
    if limits is not None:
        await limits.enforce(request, key)
