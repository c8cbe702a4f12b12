"""The send rate: a per-provider budget shared by every sender instance, adapting to 429s.

Each instance sends at `budget × assigned partitions / total partitions`: the
group's shares add up to the budget whatever the number of instances, and
they are recomputed on every rebalance. On top of the share, an AIMD factor
halves the rate when the provider throttles (at most once per cool-down, so a
burst of concurrent 429s counts once) and creeps back up with every accepted
call.

The limiter is `aiolimiter.AsyncLimiter` at the share's rate; the AIMD factor
is applied by charging `emails / factor` tokens, so the bucket keeps its state
when the factor moves. A new limiter (a new share or budget) starts with its
bucket spent, not full: at a re-split every instance of the group gets a new one
at once, and full buckets would add a burst of one bucket per instance on top of
the budget, which the provider throttles (measured with `fanout bench scale`:
8 % of the calls throttled around a join without this, docs/operations.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from shared.contracts.sends import MAX_BATCH


def partition_share(assigned: int, total: int) -> float:
    """This instance's share of the budget: its partitions over the topic's partitions."""
    if total <= 0 or assigned <= 0:
        return 0.0
    return min(assigned, total) / total


@dataclass(frozen=True)
class Aimd:
    """How the factor adapts: multiplied by `decrease` on a 429 (at most once per
    `cooldown_s`, never below `min_factor`), raised by `increase` per accepted call."""

    min_factor: float = 0.05
    increase: float = 0.02
    decrease: float = 0.5
    cooldown_s: float = 1.0


DEFAULT_AIMD = Aimd()


class SendRate:
    """Emails-per-second limiter of one provider in one sender instance."""

    def __init__(
        self,
        budget_per_s: float,
        aimd: Aimd = DEFAULT_AIMD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget_per_s = budget_per_s
        self.share = 1.0
        self.factor = 1.0
        self._aimd = aimd
        self._clock = clock
        self._last_decrease = -math.inf
        self._spend_bucket = True
        self._limiter = self._make_limiter()

    @property
    def share_per_s(self) -> float:
        """The rate this instance is entitled to before adapting to throttling."""
        return self.budget_per_s * self.share

    @property
    def rate_per_s(self) -> float:
        """The rate this instance currently sends at."""
        return self.share_per_s * self.factor

    def set_share(self, assigned: int, total: int) -> None:
        """Recompute the share after a rebalance."""
        share = partition_share(assigned, total)
        if share != self.share:
            self.share = share
            self._limiter = self._make_limiter()

    def set_budget(self, budget_per_s: float) -> None:
        """Change the budget (e.g. to the provider's own quota)."""
        if budget_per_s != self.budget_per_s:
            self.budget_per_s = budget_per_s
            self._limiter = self._make_limiter()

    def on_throttled(self) -> None:
        """Multiplicative decrease, once per cool-down."""
        now = self._clock()
        if now - self._last_decrease >= self._aimd.cooldown_s:
            self._last_decrease = now
            self.factor = max(self._aimd.min_factor, self.factor * self._aimd.decrease)

    def on_accepted(self) -> None:
        """Additive increase after a call the provider accepted."""
        self.factor = min(1.0, self.factor + self._aimd.increase)

    async def acquire(self, emails: int) -> None:
        """Wait until `emails` may be sent (nothing to wait for when the budget is unlimited)."""
        if self.budget_per_s <= 0 or emails <= 0:
            return
        limiter = self._limiter
        if self._spend_bucket:  # a new bucket starts spent: a re-split is no burst
            self._spend_bucket = False
            await limiter.acquire(limiter.max_rate)
        tokens = emails / self.factor
        while tokens > 0:
            chunk = min(tokens, limiter.max_rate)
            await limiter.acquire(chunk)
            tokens -= chunk

    def _make_limiter(self) -> AsyncLimiter:
        self._spend_bucket = True
        rate = max(self.share_per_s, 1e-3)
        capacity = float(max(MAX_BATCH, min(rate, 4 * MAX_BATCH)))
        return AsyncLimiter(max_rate=capacity, time_period=capacity / rate)
