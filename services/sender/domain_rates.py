"""Receiving-domain rates: mail to one domain group slowed without slowing the others.

Mailbox providers defer a sender above their own rates (Gmail's `421 4.7.28 ... rate
limited`, Yahoo's `421 4.7.0 [TSS04] ... temporarily deferred`), which one per-provider
budget cannot express. Each provider (configuration) has a `DomainRates`: per receiving
domain group (`shared.reputation.domains`) a slot scheduler at

    rate = limit × this instance's partition share × AIMD factor

so the instances of the group together stay within the limit, as with the provider's
budget (`services.sender.rate`). A group without a configured limit has none until it
defers: its first 4.7.x answer gives it one, the rate this instance was sending it at
(measured over the last seconds), and it is dropped again once its factor is back to 1.

A call's emails are planned before it is made (`plan`): each limited group takes one
burst's worth of slots (virtual scheduling: `next_free` moves by n / rate, charged for
what is sent) if its next slot is at most `hold_s` away, and goes in this call after that
wait, together with every unlimited group: a batch of 50 stays one call for everything
that may go now. What is left of a limited group is *parked*: taken out of the call and out
of the batch, recorded with the time its rate would have room for it, re-emitted by the
lead resolver then, and planned again like any batch, so the sending rate is kept by what
is actually sent; the recipients over their domain's rate never hold an in-flight slot
while the other domains go at full speed.

Per-recipient deferral answers of a group (4.7.x) halve its factor (at most once per
cool-down), and the deferred recipients are parked at once until the lowered rate would
have room for them (`defer`); every call the group is accepted in raises the factor by
`increase` (AIMD).
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cachetools import LRUCache

from services.sender.providers.base import OutgoingEmail
from services.sender.rate import Aimd, partition_share
from shared import metrics
from shared.reputation.domains import DomainLimit, domain_of, group_of, group_table

# The enhanced status codes of a receiving domain's "slow down": 4.7.x (Gmail 4.7.28,
# Yahoo 4.7.0 [TS..], Microsoft 4.7.500-699) and 4.2.1 ("receiving mail at a rate that
# prevents additional messages").
RATE_DEFERRAL = re.compile(r"\b4\.7\.\d{1,3}\b|\b4\.2\.1\b|\bTSS?\d\d\b")
DOMAIN_AIMD = Aimd(min_factor=0.1, increase=0.02, decrease=0.5, cooldown_s=1.0)
ADAPTIVE_GROUPS = 10_000  # groups without a configured limit that deferred (LRU)
METERED_GROUPS = 10_000
MIN_ADAPTIVE_RATE = 1.0


def is_rate_deferral(reason: str) -> bool:
    """Whether a per-recipient "retry later" is a receiving domain's rate limit."""
    return bool(RATE_DEFERRAL.search(reason))


class Meter:
    """Emails sent to one group over the last two whole seconds: its recent rate."""

    def __init__(self) -> None:
        self._second = -1
        self._current = 0
        self._previous = 0

    def add(self, emails: int, now: float) -> None:
        second = int(now)
        if second != self._second:
            self._previous = self._current if second == self._second + 1 else 0
            self._second, self._current = second, 0
        self._current += emails

    def rate(self, now: float) -> float:
        """Emails per second over the last full second and the current part."""
        second = int(now)
        if second == self._second:
            return (self._previous + self._current) / (1 + (now - second))
        if second == self._second + 1:
            return self._current / (1 + (now - second))
        return 0.0


@dataclass
class Limiter:
    """The slot scheduler of one group: `base` emails/s (already this instance's share when
    `adaptive`) times `factor`."""

    base: float
    adaptive: bool
    aimd: Aimd
    factor: float = 1.0
    next_free: float = -math.inf
    last_decrease: float = -math.inf

    def chunk(self, share: float, burst_s: float) -> int:
        """Emails it may take in one call: one burst of its current rate (at least one)."""
        return max(1, int(self.rate(share) * burst_s))

    def rate(self, share: float) -> float:
        scaled = self.base if self.adaptive else self.base * share
        return max(scaled * self.factor, 1e-3)

    def wait(self, now: float, burst_s: float) -> float:
        """Seconds until its next slot (0: now), charging nothing."""
        return max(0.0, self.next_free - burst_s - now)

    def take(self, emails: int, now: float, share: float) -> None:
        """Charge `emails` sent at its next slot."""
        self.next_free = max(self.next_free, now) + emails / self.rate(share)

    def room_in(self, emails: int, now: float, share: float, burst_s: float) -> float:
        """Seconds until `emails` more could go if nobody else took a slot meanwhile: when
        recipients parked now may come back."""
        return self.wait(now, burst_s) + emails / self.rate(share)

    def deferred(self, now: float) -> bool:
        """Multiplicative decrease, once per cool-down; True when it decreased."""
        if now - self.last_decrease < self.aimd.cooldown_s:
            return False
        self.last_decrease = now
        self.factor = max(self.aimd.min_factor, self.factor * self.aimd.decrease)
        return True

    def accepted(self) -> None:
        """Additive increase after a call the group was accepted in."""
        self.factor = min(1.0, self.factor + self.aimd.increase)


@dataclass
class Plan:
    """One call's emails: those to send after `wait_s`, those parked until `park_in_s`."""

    send: list[OutgoingEmail] = field(default_factory=list)
    wait_s: float = 0.0
    park: list[OutgoingEmail] = field(default_factory=list)
    park_in_s: float = 0.0


class DomainRates:
    """The receiving-domain rates of one provider (configuration) in this instance."""

    def __init__(
        self,
        provider: str,
        limits: Sequence[DomainLimit] = (),
        *,
        hold_s: float = 1.0,
        burst_s: float = 0.25,
        aimd: Aimd = DOMAIN_AIMD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._groups = group_table(limits)
        self._hold_s = hold_s
        self._burst_s = burst_s
        self._aimd = aimd
        self._clock = clock
        self.share = 1.0
        self._limited: dict[str, Limiter] = {
            limit.group: Limiter(limit.rate_per_s, False, aimd) for limit in limits
        }
        self._adaptive: LRUCache[str, Limiter] = LRUCache(ADAPTIVE_GROUPS)
        self._meters: LRUCache[str, Meter] = LRUCache(METERED_GROUPS)

    def set_share(self, assigned: int, total: int) -> None:
        """This instance's share of every configured limit (its partitions over all)."""
        self.share = partition_share(assigned, total)

    def group(self, email: str) -> str:
        """The receiving domain group of an address."""
        return group_of(domain_of(email), self._groups)

    def limiter(self, group: str) -> Limiter | None:
        """The group's scheduler, if it is limited (configured, or slowed by deferrals)."""
        return self._limited.get(group) or self._adaptive.get(group)

    def plan(self, emails: Sequence[OutgoingEmail]) -> Plan:
        """Which of `emails` go in this call and after how long, and which are parked.

        A limited group sends at most one burst's worth in a call (`Limiter.chunk`), after
        waiting for its slot if that is at most `hold_s` away, and is charged for it; more at
        once would exceed what the domain tolerates. The rest of the group is parked until
        its rate would have room for it (charged when it is sent, after it comes back)."""
        now = self._clock()
        plan = Plan()
        for group, members in self._by_group(emails).items():
            self._meter(group).add(len(members), now)
            limiter = self.limiter(group)
            if limiter is None:
                plan.send += members
                continue
            rest = members
            wait = limiter.wait(now, self._burst_s)
            if wait <= self._hold_s:
                chunk = members[: limiter.chunk(self.share, self._burst_s)]
                limiter.take(len(chunk), now, self.share)
                plan.send += chunk
                plan.wait_s = max(plan.wait_s, wait)
                rest = members[len(chunk) :]
            if rest:
                plan.park += rest
                later = limiter.room_in(len(rest), now, self.share, self._burst_s)
                plan.park_in_s = max(plan.park_in_s, later)
        return plan

    def defer(self, emails: Sequence[OutgoingEmail]) -> float:
        """`emails` were just deferred by their domains (after `answered` slowed those
        domains): seconds until their rates would have room for them. They are parked until
        then rather than retried at once: a retry would meet the same limit and hold its
        batch's in-flight slot meanwhile."""
        now = self._clock()
        later = 0.0
        for group, members in self._by_group(emails).items():
            limiter = self.limiter(group)
            if limiter is not None:
                later = max(later, limiter.room_in(len(members), now, self.share, self._burst_s))
        return later

    def answered(self, accepted: Iterable[str], deferred: Iterable[str]) -> None:
        """A call's answers: the addresses accepted and those deferred by their domain's
        rate (4.7.x). Deferrals slow their limited groups, acceptances raise them back.

        A group without a limit gets one only when the same call accepted another group:
        a 4.7.x for every recipient of a call may be the provider's (an SMTP relay's own
        throttling), not the receiving domain's, and is left to the retries and the
        provider's rate."""
        now = self._clock()
        slowed = {self.group(email) for email in deferred}
        answered_others = {self.group(email) for email in accepted} - slowed
        for group in slowed:
            if self.limiter(group) is not None or answered_others:
                self._slow(group, now)
        for group in answered_others:
            limiter = self.limiter(group)
            if limiter is None:
                continue
            limiter.accepted()
            if limiter.adaptive and limiter.factor >= 1.0:
                self._adaptive.pop(group, None)  # back to its full speed: no limit again
        metrics.DOMAINS_SLOWED.labels(self._provider).set(self.slowed())

    def slowed(self) -> int:
        """Groups currently below their full rate."""
        limiters = [*self._limited.values(), *self._adaptive.values()]
        return sum(1 for limiter in limiters if limiter.factor < 1.0)

    def _slow(self, group: str, now: float) -> None:
        metrics.DOMAIN_DEFERRALS.labels(self._provider).inc()
        limiter = self.limiter(group)
        if limiter is None:  # not limited so far: from the rate it was sent at here
            base = max(self._meter(group).rate(now), MIN_ADAPTIVE_RATE)
            limiter = self._adaptive[group] = Limiter(base, True, self._aimd)
        limiter.deferred(now)

    def _meter(self, group: str) -> Meter:
        meter = self._meters.get(group)
        if meter is None:
            meter = self._meters[group] = Meter()
        return meter

    def _by_group(self, emails: Iterable[OutgoingEmail]) -> dict[str, list[OutgoingEmail]]:
        groups: dict[str, list[OutgoingEmail]] = defaultdict(list)
        for email in emails:
            groups[self.group(email.to)].append(email)
        return groups
