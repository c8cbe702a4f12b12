"""When a failed delivery is tried again: the retry schedule, jitter and Retry-After.

The schedule (`FANOUT_NOTIFIER_RETRY_SCHEDULE_S`) lists the wait before each retry; a
delivery that failed once more than it has entries gives up (`failed`, replayable). Each
wait is moved by up to `retry_jitter` of itself, so endpoints that failed together are
not retried in lockstep. A receiver's `Retry-After` (seconds, on 429 and 503) is honoured
when it asks for longer, up to `max_retry_after_s`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

Jitter = Callable[[], float]
"""A number in [-1, 1]; `random.uniform(-1, 1)` in production, fixed in tests."""


def default_jitter() -> float:
    """Uniform in [-1, 1] (not for security: only spreads retries out)."""
    return random.uniform(-1.0, 1.0)  # noqa: S311


def retry_after_s(header: str | None) -> float | None:
    """The seconds a `Retry-After` header asks for (the delta-seconds form only)."""
    if header is None:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def next_attempt(
    schedule: Sequence[float],
    failures: int,
    now: datetime,
    *,
    jitter: float,
    spread: Jitter = default_jitter,
    asked_s: float | None = None,
    max_asked_s: float = 86_400,
) -> datetime | None:
    """When to try again after the delivery's `failures`-th failure in a row; None: give up."""
    if failures > len(schedule):
        return None
    wait = schedule[failures - 1] * (1 + jitter * spread())
    if asked_s is not None:
        wait = max(wait, min(asked_s, max_asked_s))
    return now + timedelta(seconds=max(0.0, wait))
