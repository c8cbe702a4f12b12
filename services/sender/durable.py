"""Steps on Postgres or Kafka that a batch cannot skip: retried until they succeed.

A batch either finishes or its task is cancelled (shutdown, revocation) and the
record is redelivered; it never gives up half-way because a dependency blinked.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from shared.retry import retryable

T = TypeVar("T")


async def durable(step: Callable[[], Awaitable[T]]) -> T:
    """Run a Postgres/Kafka step until it succeeds (backoff with jitter, capped at 10 s).

    The first attempt is a plain call: a batch makes several durable steps and nearly all
    succeed at once, and tenacity's retry loop cost more than some of the steps. After a
    retryable failure the waits are tenacity's `wait_exponential_jitter(max=10)`: 1-2 s,
    then 2-3 s, 4-5 s, 8-9 s, 10 s from then on."""
    try:
        return await step()
    except Exception as exc:
        if not retryable(exc):
            raise
    await asyncio.sleep(1 + random.uniform(0, 1))  # noqa: S311 - jitter, not a secret
    async for attempt in AsyncRetrying(
        wait=wait_exponential_jitter(initial=2, max=10), retry=retry_if_exception(retryable)
    ):
        with attempt:
            return await step()
    raise AssertionError("unreachable")
