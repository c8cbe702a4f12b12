"""Steps on Postgres or Kafka that a batch cannot skip: retried until they succeed.

A batch either finishes or its task is cancelled (shutdown, revocation) and the
record is redelivered; it never gives up half-way because a dependency blinked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from shared.retry import retryable

T = TypeVar("T")


async def durable(step: Callable[[], Awaitable[T]]) -> T:
    """Run a Postgres/Kafka step until it succeeds (backoff with jitter, capped at 10 s)."""
    async for attempt in AsyncRetrying(
        wait=wait_exponential_jitter(max=10), retry=retry_if_exception(retryable)
    ):
        with attempt:
            return await step()
    raise AssertionError("unreachable")
