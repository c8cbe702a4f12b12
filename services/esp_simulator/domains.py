"""Receiving domains as the simulator plays them: each may defer mail above its own rate.

`domain_rate_limits` gives some receiving domains a rate (emails per second, a token bucket
of `rate_burst_s` seconds); a recipient of such a domain beyond it is answered `throttled`
with the domain's rate-limit deferral, `421 4.7.28` as Gmail words it, which the sender
treats as "this domain, slower" (docs/deliverability.md). Every domain's traffic is
counted (accepted and deferred recipients, and the most accepted in one wall-clock
second) for `GET /v1/counters`, for the first `MAX_DOMAINS` domains seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from services.esp_simulator.protocol import DomainCounts
from services.esp_simulator.ratelimit import TokenBucket

MAX_DOMAINS = 1_000


def deferral_reason(domain: str) -> str:
    """The deferral a domain over its rate answers (Gmail's wording)."""
    return (
        f"421 4.7.28 {domain} has detected an unusual rate of mail from your sender and "
        "temporarily rate limited it; try again later (simulated)"
    )


class DomainTraffic:
    """Per receiving domain: its bucket (if limited) and its counts."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._buckets: dict[str, TokenBucket] = {}
        self.counts: dict[str, DomainCounts] = {}
        self._second: dict[str, tuple[int, int]] = {}  # domain → (wall second, accepted in it)

    def limit(self, limits: Mapping[str, float], burst_s: float) -> None:
        """Rate-limit these domains from now (full buckets); the others are not."""
        self._buckets = {
            domain.lower(): TokenBucket(rate, max(rate * burst_s, 1.0), self._clock)
            for domain, rate in limits.items()
        }

    def reset(self) -> None:
        """Forget the counts."""
        self.counts.clear()
        self._second.clear()

    def admit(self, domain: str) -> bool:
        """Whether one more recipient of `domain` is within its rate (taking a token)."""
        bucket = self._buckets.get(domain)
        if bucket is None or bucket.try_take(1) == 0:
            return True
        self._count(domain, deferred=True)
        return False

    def accepted(self, domain: str) -> None:
        """A recipient of `domain` was accepted."""
        self._count(domain, deferred=False)

    def _count(self, domain: str, *, deferred: bool) -> None:
        counts = self.counts.get(domain)
        if counts is None:
            if len(self.counts) >= MAX_DOMAINS:
                return
            counts = self.counts[domain] = DomainCounts()
        if deferred:
            counts.deferred += 1
            return
        now = self._wall()
        counts.accepted += 1
        counts.first_accepted_at = counts.first_accepted_at or now
        counts.last_accepted_at = now
        second, in_it = self._second.get(domain, (-1, 0))
        in_it = in_it + 1 if int(now) == second else 1
        self._second[domain] = (int(now), in_it)
        counts.peak_accepted_per_s = max(counts.peak_accepted_per_s, in_it)
