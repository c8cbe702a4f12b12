"""One batch's ESP calls: the first call, then retries for only the recipients that need them.

Call-level throttling and transient errors (`ProviderRetryable`: 429, 5xx,
timeouts) and per-recipient `RETRY` answers are retried with exponential
backoff and jitter (at least the provider's Retry-After), up to a bounded
number of calls; then the recipients still pending fail and the batch is
dead-lettered. `REJECTED` fails at once. `ProviderStopped` (and refused
credentials) end the delivery with the pending recipients undecided: the
campaign is paused and they are parked for the resume.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from services.sender.providers.base import (
    EmailProvider,
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    ProviderStopped,
    SendRequest,
)
from services.sender.providers.errors import ProviderRequestError
from services.sender.rate import SendRate
from shared import metrics


@dataclass(frozen=True)
class RetryPolicy:
    """How long a batch keeps trying."""

    max_attempts: int = 6
    initial_s: float = 0.2
    max_s: float = 10.0
    jitter_s: float = 0.2


@dataclass
class Delivery:
    """What happened to each recipient of a batch."""

    sent: dict[UUID, str] = field(default_factory=dict)  # lead → provider message id
    failed: dict[UUID, str] = field(default_factory=dict)  # lead → reason
    undecided: list[OutgoingEmail] = field(default_factory=list)  # provider stopped
    stopped_reason: str = ""
    exhausted_reason: str = ""  # retries ran out: the batch goes to the dead-letter topic
    attempts: int = 0


class _StillPending(Exception):  # noqa: N818 - drives tenacity, never escapes
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    """Exponential backoff with jitter, but never shorter than the provider's Retry-After."""
    backoff = wait_exponential_jitter(
        multiplier=policy.initial_s, max=policy.max_s, jitter=policy.jitter_s
    )

    def wait(state: RetryCallState) -> float:
        delay = float(backoff(state))
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, ProviderRetryable) and error.retry_after:
            asked = min(error.retry_after, policy.max_s)
            delay = max(delay, asked + random.uniform(0, policy.jitter_s))  # noqa: S311
        return delay

    return wait


async def deliver(
    provider: EmailProvider, rate: SendRate, request: SendRequest, policy: RetryPolicy
) -> Delivery:
    """Send `request`, retrying what needs it; every email ends sent, failed or undecided."""
    result = Delivery()
    pending = {e.lead_id: e for e in request.emails}
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=_wait(policy),
        retry=retry_if_exception_type((ProviderRetryable, _StillPending)),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                result.attempts += 1
                await _call(provider, rate, request, pending, result)
    except ProviderRetryable as exc:
        _fail_pending(result, pending, exc.reason)
    except _StillPending as exc:
        _fail_pending(result, pending, exc.reason)
    except ProviderStopped as exc:
        _stop(result, pending, f"{provider.name} stopped sending: {exc}")
    except ProviderRequestError as exc:
        if exc.status_code in (401, 403):
            _stop(result, pending, str(exc))
        else:
            _fail_pending(result, pending, str(exc))
    return result


async def _call(
    provider: EmailProvider,
    rate: SendRate,
    request: SendRequest,
    pending: dict[UUID, OutgoingEmail],
    result: Delivery,
) -> None:
    emails = list(pending.values())
    await rate.acquire(len(emails))
    metrics.SEND_RATE.labels(provider.name).set(rate.rate_per_s)
    started = time.perf_counter()
    try:
        answers = await provider.send_batch(_with_emails(request, emails))
    except ProviderRetryable:
        metrics.ESP_CALLS.labels(provider.name, "retryable").inc()
        rate.on_throttled()
        raise
    finally:
        metrics.ESP_SECONDS.labels(provider.name).observe(time.perf_counter() - started)
    metrics.ESP_CALLS.labels(provider.name, "ok").inc()
    rate.on_accepted()
    last_retry_reason = ""
    for answer in answers:
        if answer.lead_id not in pending:
            continue
        if answer.outcome is Outcome.ACCEPTED:
            result.sent[answer.lead_id] = answer.provider_message_id
            del pending[answer.lead_id]
        elif answer.outcome is Outcome.REJECTED:
            result.failed[answer.lead_id] = answer.reason or "rejected by the provider"
            del pending[answer.lead_id]
        else:
            last_retry_reason = answer.reason or "provider asked to retry"
    if pending:
        metrics.EMAILS.labels(provider.name, "retried").inc(len(pending))
        raise _StillPending(last_retry_reason or "no answer for some recipients")


def _with_emails(request: SendRequest, emails: list[OutgoingEmail]) -> SendRequest:
    if len(emails) == len(request.emails):
        return request
    return SendRequest(
        account_id=request.account_id,
        campaign_id=request.campaign_id,
        from_email=request.from_email,
        from_name=request.from_name,
        reply_to=request.reply_to,
        emails=emails,
    )


def _fail_pending(result: Delivery, pending: dict[UUID, OutgoingEmail], reason: str) -> None:
    if pending:
        result.exhausted_reason = f"retries exhausted after {result.attempts} calls: {reason}"
    for lead_id in pending:
        result.failed[lead_id] = result.exhausted_reason or reason
    pending.clear()


def _stop(result: Delivery, pending: dict[UUID, OutgoingEmail], reason: str) -> None:
    result.stopped_reason = reason
    result.undecided = list(pending.values())
    pending.clear()
