"""How long a batch waits between calls, and for how long in all: backoff with a deadline.

Exponential backoff with jitter, never shorter than the provider's Retry-After
(honoured however long it is), and never past the deadline: the deadline is
measured from the batch's first call, in hours, because throttling is the
provider saying "later", not "no". `clock` and `sleep` are parameters so tests
pin time instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenacity import RetryCallState, wait_exponential_jitter

from services.sender.providers.base import ProviderRetryable


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a batch keeps trying."""

    deadline_s: float = 6 * 3600.0
    initial_s: float = 0.2
    max_s: float = 30.0
    jitter_s: float = 0.2
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def expired(self, started: float) -> bool:
        """Whether a delivery that started at `started` (on `clock`) is past its deadline."""
        return self.clock() - started >= self.deadline_s

    def hours_since(self, started: float) -> float:
        """Hours since `started`, for the reason of a recipient that gave up."""
        return (self.clock() - started) / 3600


def retry_wait(policy: RetryPolicy, started: float) -> Callable[[RetryCallState], float]:
    """The wait before the next call of a delivery that started at `started`."""
    backoff = wait_exponential_jitter(
        multiplier=policy.initial_s, max=policy.max_s, jitter=policy.jitter_s
    )

    def wait(state: RetryCallState) -> float:
        delay = float(backoff(state))
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, ProviderRetryable) and error.retry_after:
            delay = max(delay, error.retry_after + random.uniform(0, policy.jitter_s))  # noqa: S311
        left = policy.deadline_s - (policy.clock() - started)
        return max(0.0, min(delay, left))

    return wait


def failure_reason(state: RetryCallState) -> str:
    """Why the last call of `state` asked for a retry."""
    error = state.outcome.exception() if state.outcome is not None else None
    return str(getattr(error, "reason", "") or repr(error))
