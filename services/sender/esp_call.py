"""One ESP call of a delivery: receiving-domain plan, rate, gate, the call, the answers sorted.

The pending emails are planned first (`services.sender.domain_rates`): those over their
receiving domain's rate leave the delivery as `deferred` (parked by the caller until that
rate has room), the rest wait at most the domain hold and go in one call. The gate runs
after the rate limiter let the call through and right before the request, so a pause or
cancel is checked as late as possible. Call-level throttling slows the provider's rate
(AIMD); an answered call speeds it up; per-recipient rate-limit deferrals (4.7.x) slow
their receiving domain only, and those recipients are parked until slots at the lowered
rate (`deferred`) instead of being retried in this delivery.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from uuid import UUID

from services.sender.backoff import RetryPolicy
from services.sender.domain_rates import DomainRates, is_rate_deferral
from services.sender.providers.base import (
    EmailProvider,
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    RecipientResult,
    SendRequest,
)
from services.sender.rate import SendRate
from services.sender.waiting import ProviderWaits
from shared import metrics

Gate = Callable[[], Awaitable[str]]  # "" when the campaign may send, else why not


@dataclass(frozen=True)
class Attempts:
    """What a delivery needs beside its request."""

    provider: EmailProvider
    rate: SendRate
    policy: RetryPolicy
    gate: Gate
    waits: ProviderWaits
    domains: DomainRates = field(default_factory=lambda: DomainRates("unconfigured"))


@dataclass
class Delivery:
    """What happened to each recipient of a batch."""

    sent: dict[UUID, str] = field(default_factory=dict)  # lead → provider message id
    failed: dict[UUID, str] = field(default_factory=dict)  # lead → reason
    undecided: list[OutgoingEmail] = field(default_factory=list)  # stopped or halted
    deferred: list[OutgoingEmail] = field(default_factory=list)  # over their domain's rate
    deferred_s: float = 0.0  # when the last of `deferred` may go (seconds from the deferral)
    stopped_reason: str = ""  # the provider stopped all sending: pause the campaign
    halted_reason: str = ""  # the campaign may not send now (paused, cancelled)
    exhausted_reason: str = ""  # the deadline passed: the batch goes to the dead-letter topic
    attempts: int = 0
    answered: bool = False  # the provider answered at least one call

    def merge(self, other: Delivery) -> None:
        """Add a later delivery of other recipients of the same batch."""
        self.sent |= other.sent
        self.failed |= other.failed
        self.undecided += other.undecided
        self.deferred += other.deferred
        self.deferred_s = max(self.deferred_s, other.deferred_s)
        self.stopped_reason = self.stopped_reason or other.stopped_reason
        self.halted_reason = self.halted_reason or other.halted_reason
        self.exhausted_reason = self.exhausted_reason or other.exhausted_reason
        self.attempts += other.attempts


class StillPending(Exception):  # noqa: N818 - drives the retries, never escapes a delivery
    """Some recipients were answered "retry later"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Halted(Exception):  # noqa: N818 - ends a delivery, never escapes it
    """The gate refused the call: the campaign may not send now."""


async def call_once(
    attempts: Attempts,
    request: SendRequest,
    pending: dict[UUID, OutgoingEmail],
    result: Delivery,
    *,
    gated: bool,
) -> None:
    """One call for the `pending` recipients; decided and deferred ones leave `pending`."""
    provider, rate = attempts.provider, attempts.rate
    plan = attempts.domains.plan(list(pending.values()))
    if plan.park:
        result.deferred += plan.park
        result.deferred_s = max(result.deferred_s, plan.park_in_s)
        for email in plan.park:
            del pending[email.lead_id]
    emails = plan.send
    if not emails:
        return
    if plan.wait_s > 0:
        await attempts.policy.sleep(plan.wait_s)
    await rate.acquire(len(emails))
    if gated and (halt := await attempts.gate()):
        raise Halted(halt)
    result.attempts += 1
    metrics.SEND_RATE.labels(provider.name).set(rate.rate_per_s)
    started = time.perf_counter()
    try:
        answers = await provider.send_batch(replace(request, emails=emails))
    except ProviderRetryable:
        metrics.ESP_CALLS.labels(provider.name, "retryable").inc()
        rate.on_throttled()
        raise
    finally:
        metrics.ESP_SECONDS.labels(provider.name).observe(time.perf_counter() - started)
    metrics.ESP_CALLS.labels(provider.name, "ok").inc()
    rate.on_accepted()
    result.answered = True
    _sort(provider.name, answers, pending, result, attempts.domains)


def _sort(
    provider: str,
    answers: list[RecipientResult],
    pending: dict[UUID, OutgoingEmail],
    result: Delivery,
    domains: DomainRates,
) -> None:
    """Take the decided recipients out of `pending`; raise if some must be retried."""
    retry_reason = ""
    accepted: list[str] = []
    deferred: list[OutgoingEmail] = []
    for answer in answers:
        email = pending.get(answer.lead_id)
        if email is None:
            continue
        if answer.outcome is Outcome.ACCEPTED:
            result.sent[answer.lead_id] = answer.provider_message_id
            accepted.append(email.to)
            del pending[answer.lead_id]
        elif answer.outcome is Outcome.REJECTED:
            result.failed[answer.lead_id] = answer.reason or "rejected by the provider"
            del pending[answer.lead_id]
        else:
            retry_reason = answer.reason or "provider asked to retry"
            if is_rate_deferral(retry_reason):
                deferred.append(email)
    domains.answered(accepted, [e.to for e in deferred])
    # recipients of a limited domain that says "slower" are parked, not retried at once
    parked = [e for e in deferred if domains.limiter(domains.group(e.to)) is not None]
    if parked:
        for email in parked:
            del pending[email.lead_id]
        result.deferred += parked
        result.deferred_s = max(result.deferred_s, domains.defer(parked))
    if pending:
        metrics.EMAILS.labels(provider, "retried").inc(len(pending))
        raise StillPending(retry_reason or "no answer for some recipients")
