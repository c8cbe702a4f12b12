"""A down window: the provider is unreachable for N seconds from now.

Fault tests need "the ESP is down for 30 s" as one action, not two knob
changes timed by the caller; while the window lasts every bulk call is
answered 503 at once (no latency, no Retry-After), as a provider behind a
failing load balancer answers. The window is measured on a monotonic clock,
injectable so tests can pin it.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Outage:
    """When the current down window ends (none at first)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = clock()

    def start(self, seconds: float) -> None:
        """Be down for `seconds` from now (0 ends a window at once)."""
        self._until = self._clock() + seconds

    @property
    def remaining_s(self) -> float:
        """Seconds left in the window; 0 when up."""
        return max(0.0, self._until - self._clock())

    @property
    def down(self) -> bool:
        """Whether a window is in force."""
        return self.remaining_s > 0
