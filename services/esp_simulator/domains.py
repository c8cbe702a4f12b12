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
from dataclasses import dataclass

from services.esp_simulator.protocol import DomainCounts
from services.esp_simulator.ratelimit import TokenBucket

MAX_DOMAINS = 1_000


def deferral_reason(domain: str) -> str:
    """The deferral a domain over its rate answers (Gmail's wording)."""
    return (
        f"421 4.7.28 {domain} has detected an unusual rate of mail from your sender and "
        "temporarily rate limited it; try again later (simulated)"
    )


@dataclass(slots=True)
class _Counts:
    """`DomainCounts` as kept while counting (a plain object: recipients are counted per
    call, and pydantic's attribute assignment was most of that cost)."""

    accepted: int = 0
    deferred: int = 0
    first_accepted_at: float | None = None
    last_accepted_at: float | None = None
    peak_accepted_per_s: int = 0
    second: int = -1  # the wall-clock second of the last acceptance
    in_second: int = 0  # accepted in it


class DomainTraffic:
    """Per receiving domain: its bucket (if limited) and its counts."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._buckets: dict[str, TokenBucket] = {}
        self._counts: dict[str, _Counts] = {}

    def limit(self, limits: Mapping[str, float], burst_s: float) -> None:
        """Rate-limit these domains from now (full buckets); the others are not."""
        self._buckets = {
            domain.lower(): TokenBucket(rate, max(rate * burst_s, 1.0), self._clock)
            for domain, rate in limits.items()
        }

    def reset(self) -> None:
        """Forget the counts."""
        self._counts.clear()

    def snapshot(self) -> dict[str, DomainCounts]:
        """The counts of every domain counted (the first `MAX_DOMAINS` seen)."""
        return {
            domain: DomainCounts(
                accepted=c.accepted,
                deferred=c.deferred,
                first_accepted_at=c.first_accepted_at,
                last_accepted_at=c.last_accepted_at,
                peak_accepted_per_s=c.peak_accepted_per_s,
            )
            for domain, c in self._counts.items()
        }

    def admit(self, domain: str) -> bool:
        """Whether one more recipient of `domain` is within its rate (taking a token)."""
        bucket = self._buckets.get(domain)
        if bucket is None or bucket.try_take(1) == 0:
            return True
        counts = self._counted(domain)
        if counts is not None:
            counts.deferred += 1
        return False

    def accepted(self, domain: str, recipients: int = 1) -> None:
        """`recipients` of `domain` were accepted now (those of one call are counted at once)."""
        counts = self._counted(domain)
        if counts is None:
            return
        now = self._wall()
        counts.accepted += recipients
        counts.first_accepted_at = counts.first_accepted_at or now
        counts.last_accepted_at = now
        second = int(now)
        counts.in_second = counts.in_second + recipients if second == counts.second else recipients
        counts.second = second
        counts.peak_accepted_per_s = max(counts.peak_accepted_per_s, counts.in_second)

    def _counted(self, domain: str) -> _Counts | None:
        counts = self._counts.get(domain)
        if counts is None:
            if len(self._counts) >= MAX_DOMAINS:
                return None
            counts = self._counts[domain] = _Counts()
        return counts
