"""Housekeeping that runs every so often: due at once, then once per interval.

`time.monotonic()` counts from an unspecified origin; on Linux it is the boot. A
"last run" kept as `0.0` therefore reads as "ran at boot", and a job with an
hourly interval waits until the machine has been up an hour (the outbox purge
did exactly that). `Every` remembers "never ran" instead of inventing a time,
and takes its clock as an argument so tests can pin it near zero, as on a
freshly booted machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds on a clock that never goes back (`time.monotonic` in production)."""


class Every:
    """A job due now if it never ran, else once `interval_s` has passed since its last run."""

    def __init__(self, interval_s: float, clock: Clock = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._last: float | None = None

    def due(self) -> bool:
        """Whether the job should run now."""
        return self._last is None or self._clock() - self._last >= self.interval_s

    def mark(self) -> None:
        """Record a run now (also when it was started by something else, like a rebalance)."""
        self._last = self._clock()

    def take(self) -> bool:
        """If due, record the run and answer True; the caller then runs the job."""
        if not self.due():
            return False
        self.mark()
        return True


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait until `stop` is set or `seconds` have passed; whether `stop` is set (the wait
    between two runs of a worker's loop, cut short by a shutdown)."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
