"""The simulated provider: decides each call's answer and each recipient's fate.

A call is refused whole (503 at once during a down window, 503 at
`error_5xx_rate` or while the webhook backlog is full, 429 at
`throttle_429_rate` or beyond the token bucket) or processed recipient by
recipient: a message id accepted before is answered `accepted` again with the
same provider message id and counted as a duplicate, without new events;
otherwise the recipient is rolled throttled, transient_error, rejected or
accepted (a recipient of a receiving domain over its `domain_rate_limits` is answered
`throttled` with that domain's 421 4.7.28 deferral: `domains`), and an accepted one gets
its outcome events scheduled for the webhook (complained about at `complaint_spike_rate`
once `complaint_spike_after` messages were accepted). Every call is written to the
request log, per campaign.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.esp_simulator.config import Knobs, Settings
from services.esp_simulator.domains import DomainTraffic, deferral_reason
from services.esp_simulator.events import AcceptedMessage, Email, MessageIds, OutcomeEvent
from services.esp_simulator.outage import Outage
from services.esp_simulator.outcomes import OutcomePlanner, PlannedOutcome
from services.esp_simulator.protocol import (
    MAX_MESSAGES,
    BulkRequest,
    Counters,
    MessageResult,
)
from services.esp_simulator.ratelimit import TokenBucket
from services.esp_simulator.requestlog import CallRecord, RequestLog, call_records
from services.esp_simulator.webhooks import DeliveryPolicy, WebhookFormat, WebhookOutbox
from shared.metrics import SIMULATOR_CALLS, SIMULATOR_RECIPIENTS
from shared.simulator_status import MessageStatus

# the metric children of each recipient status, looked up once (`labels()` per recipient
# was 5% of the simulator's CPU); they are incremented once per call and status
_RECIPIENT_COUNTERS = {
    name: SIMULATOR_RECIPIENTS.labels(name) for name in [*MessageStatus, "duplicate"]
}
_CALLS_OK = SIMULATOR_CALLS.labels("ok")
EVERY_STATUS = frozenset(MessageStatus)
Z_99 = 2.3263478740408408  # standard normal quantile of 0.99
MAX_EVENTS_PER_MESSAGE = 3
DUPLICATE_REASON = "duplicate message id; already accepted"
_ACCEPTED = MessageStatus.ACCEPTED
_REJECTED = MessageStatus.REJECTED
_UUID_V4_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_V4_BITS = (0x4000 << 64) | (0x8000 << 48)

# One recipient's answer: (message_id, status, provider_message_id, reason), in the bulk
# API's order of fields
Answer = tuple[str, MessageStatus, str, str]
# A recipient's roll: (status, reason, receiving domain), or None for an id accepted before
Roll = tuple[MessageStatus, str, str] | None


def emails_of(request: BulkRequest) -> list[Email]:
    """The emails of a validated bulk request, as the engine reads them."""
    return [
        Email(
            m.message_id,
            m.to,
            MessageIds(m.metadata.account_id, m.metadata.campaign_id, m.metadata.lead_id),
        )
        for m in request.messages
    ]


@dataclass(frozen=True)
class CallRefused:
    """The whole call is refused: 429 (with Retry-After) or 503."""

    status_code: int
    reason: str
    retry_after_s: float | None = None


class Simulator:
    """State of one simulated provider: knobs, rate bucket, accepted ids, counters, outbox,
    request log and down window. `clock` (monotonic: the rate bucket and the down window)
    and `wall` (Unix time) are injectable."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        formats: Mapping[str, WebhookFormat] | None = None,
    ) -> None:
        self.knobs = settings.knobs()
        self._dialect_urls = dict(settings.dialect_webhook_urls)
        self._clock = clock
        self._wall = wall
        self.outage = Outage(clock)
        self.requests = RequestLog(settings.request_log_max)
        policy = DeliveryPolicy(
            secret=settings.common.secret("simulator_webhook_secret"),
            batch_size=settings.webhook_batch_size,
            flush_s=settings.webhook_flush_ms / 1000,
            queue_max=settings.webhook_queue_max,
            concurrency=settings.webhook_concurrency,
            timeout_s=settings.webhook_timeout_s,
            retry_base_s=settings.webhook_retry_base_s,
            retry_max_s=settings.webhook_retry_max_s,
        )
        self.outbox = WebhookOutbox(policy, self.webhook_url, formats)
        self.counters = Counters()
        self._accepted: set[bytes] = set()
        self.domains = DomainTraffic(clock, wall)
        self._apply(self.knobs)

    def webhook_url(self, dialect: str) -> str:
        """Where events of `dialect` are posted: the `webhook_url` knob for the simulator's
        own, else the dialect's override or the knob's sibling path (`.../webhooks/<dialect>`);
        empty when the knob is empty (no webhooks)."""
        base = self.knobs.webhook_url
        if dialect == "simulator" or not base:
            return base
        return self._dialect_urls.get(dialect) or f"{base.rsplit('/', 1)[0]}/{dialect}"

    def configure(self, patch: dict[str, Any]) -> Knobs:
        """Change some knobs (validated as a whole; unknown names are refused)."""
        knobs = Knobs.model_validate({**self.knobs.model_dump(), **patch})
        self._apply(knobs, reseed="seed" in patch)
        return knobs

    def reset(self) -> None:
        """Zero the counters, forget accepted ids, pending events and the request log, end a
        down window, refill the bucket."""
        self.counters = Counters()
        self._accepted.clear()
        self.domains.reset()
        self.outbox.reset()
        self.requests.clear()
        self.outage.start(0)
        self._apply(self.knobs)

    def accepted(self, message_ids: list[str]) -> list[str]:
        """Those of `message_ids` accepted since start or the last reset, in the given order."""
        return [m for m in message_ids if _digest(m) in self._accepted]

    def snapshot(self) -> Counters:
        """The counters with the webhook delivery progress."""
        update = {"webhooks": self.outbox.snapshot(), "domains": self.domains.snapshot()}
        return self.counters.model_copy(update=update, deep=True)

    async def send(
        self,
        request: BulkRequest,
        *,
        dialect: str = "simulator",
        answers: frozenset[MessageStatus] = EVERY_STATUS,
    ) -> list[MessageResult] | CallRefused:
        """Answer one bulk call (after the simulated latency unless down) and log it.

        A dialect whose API cannot answer some statuses per recipient (`answers`) gets the
        nearest its provider has: a recipient rolled throttled or transient refuses the
        whole call (429 or 503, nothing accepted) and a rejected one is accepted and then
        hard-bounces. Accepted messages' events are posted in `dialect`'s webhook format.
        """
        answer = await self.send_emails(emails_of(request), dialect=dialect, answers=answers)
        if isinstance(answer, CallRefused):
            return answer
        return [
            MessageResult.model_construct(
                message_id=message_id, status=status, provider_message_id=provider_id, reason=why
            )
            for message_id, status, provider_id, why in answer
        ]

    async def send_emails(
        self,
        emails: Sequence[Email],
        *,
        dialect: str = "simulator",
        answers: frozenset[MessageStatus] = EVERY_STATUS,
    ) -> list[Answer] | CallRefused:
        """`send` of emails validated upstream: one answer per email, in order."""
        records = call_records(emails, self._wall(), self.requests.campaign_ids)
        if self.outage.down:
            return self._refuse(records, CallRefused(503, "simulated outage"), "down")
        latency_s = self._latency_s()
        if latency_s > 0:  # none: answered at once, without a turn of the event loop
            await asyncio.sleep(latency_s)
        refusal = self._refusal(len(emails))
        digests: list[bytes] = []
        rolls: list[Roll] = []
        if refusal is None:
            accepted = self._accepted
            digests = [_digest(email.message_id) for email in emails]
            rolls = [
                None if digest in accepted else self._roll_recipient(email)
                for email, digest in zip(emails, digests, strict=True)
            ]
            refusal = _whole_call_refusal(rolls, answers, self.knobs.throttle_retry_after_s)
        if refusal is not None:
            result = "throttled" if refusal.status_code == 429 else "unavailable"
            return self._refuse(records, refusal, result)
        self.counters.calls += 1
        _CALLS_OK.inc()
        self.counters.received += len(emails)
        results = self._answer(emails, digests, rolls, records, dialect, answers)
        for record in records.values():
            self.requests.add(record)
        return results

    def _refuse(
        self, records: dict[UUID | str, CallRecord], refusal: CallRefused, result: str
    ) -> CallRefused:
        self.counters.calls += 1
        if result == "down":
            self.counters.server_errors += 1
        SIMULATOR_CALLS.labels(result).inc()
        for record in records.values():
            record.outcome = result
            self.requests.add(record)
        return refusal

    def _apply(self, knobs: Knobs, *, reseed: bool = True) -> None:
        self.knobs = knobs
        if reseed:
            self._rng = random.Random(knobs.seed)
        capacity = max(knobs.rate_limit_per_s * knobs.rate_burst_s, MAX_MESSAGES)
        self._bucket = TokenBucket(knobs.rate_limit_per_s, capacity, self._clock)
        self._planner = OutcomePlanner(knobs)
        self.domains.limit(knobs.domain_rate_limits, knobs.rate_burst_s)

    def _latency_s(self) -> float:
        p50, p99 = self.knobs.latency_p50_ms, self.knobs.latency_p99_ms
        if p50 <= 0:
            return 0.0
        if p99 <= p50:
            return p50 / 1000
        sigma = math.log(p99 / p50) / Z_99
        return self._rng.lognormvariate(math.log(p50), sigma) / 1000

    def _refusal(self, size: int) -> CallRefused | None:
        knobs = self.knobs
        if self._rng.random() < knobs.error_5xx_rate:
            self.counters.server_errors += 1
            return CallRefused(503, "simulated server error")
        if knobs.webhook_url and not self.outbox.has_room(size * MAX_EVENTS_PER_MESSAGE):
            self.counters.server_errors += 1
            return CallRefused(503, "webhook backlog full; retry later", 1.0)
        if self._rng.random() < knobs.throttle_429_rate:
            self.counters.throttled_calls += 1
            return CallRefused(429, "simulated throttling", float(knobs.throttle_retry_after_s))
        wait_s = self._bucket.try_take(size)
        if wait_s > 0:
            self.counters.throttled_calls += 1
            return CallRefused(429, f"rate limit of {knobs.rate_limit_per_s:g}/s exceeded", wait_s)
        return None

    def _answer(
        self,
        emails: Sequence[Email],
        digests: list[bytes],
        rolls: list[Roll],
        records: dict[UUID | str, CallRecord],
        dialect: str,
        answers: frozenset[MessageStatus],
    ) -> list[Answer]:
        """Answer each recipient of a call let through and schedule the accepted ones'
        events. The hot loop of the simulator: counters, metrics and domain counts are
        tallied per call and applied once at the end."""
        counters = self.counters
        knobs = self.knobs
        accepted_ids = self._accepted
        rng = self._rng
        plan = self._planner.plan
        rejected = self._planner.rejected
        posting = bool(knobs.webhook_url)
        spike_after, spike_rate = knobs.complaint_spike_after, knobs.complaint_spike_rate
        wall_now = time.time()
        unique = counters.unique
        duplicates = 0
        statuses: dict[str, int] = {}
        domains: dict[str, int] = {}
        outcomes: dict[str, int] = {}
        events: list[tuple[float, OutcomeEvent]] = []
        results: list[Answer] = []
        for email, digest, roll in zip(emails, digests, rolls, strict=True):
            provider_message_id = f"sim-{digest.hex()}"
            record = records[email.ids.campaign_id]
            if roll is None:
                duplicates += 1
                record.duplicates += 1
                statuses["duplicate"] = statuses.get("duplicate", 0) + 1
                results.append((email.message_id, _ACCEPTED, provider_message_id, DUPLICATE_REASON))
                continue
            status, reason, domain = roll
            statuses[status] = statuses.get(status, 0) + 1
            bounce = status is _REJECTED and status not in answers
            if status is not _ACCEPTED and not bounce:
                record.count(status)
                results.append((email.message_id, status, "", reason))
                continue
            accepted_ids.add(digest)
            unique += 1
            domains[domain] = domains.get(domain, 0) + 1
            record.accepted += 1
            message = AcceptedMessage(
                email.message_id, provider_message_id, email.to, email.ids, dialect
            )
            if bounce:
                planned: Sequence[PlannedOutcome] = rejected
            else:  # complained about at the spike's rate after the Nth accepted
                planned = plan(rng, spike_rate if 0 < spike_after < unique else None)
            for outcome in planned:
                counter = outcome.counter
                outcomes[counter] = outcomes.get(counter, 0) + 1
                record.count_outcome(counter)
                if posting:  # a version-4 UUID's integer, as uuid.UUID(version=4) sets it
                    key = rng.getrandbits(128) & _UUID_V4_MASK | _UUID_V4_BITS
                    delay_s = outcome.delay_s
                    event = OutcomeEvent(
                        key,
                        outcome.type,
                        message,
                        wall_now + delay_s,
                        outcome.bounce_type,
                        outcome.reason,
                    )
                    events.append((delay_s, event))
            results.append((email.message_id, _ACCEPTED, provider_message_id, ""))
        self.outbox.add_all(events, time.monotonic())
        counters.unique = unique
        counters.duplicates += duplicates
        for name, count in statuses.items():
            _RECIPIENT_COUNTERS[name].inc(count)
        for domain, count in domains.items():
            self.domains.accepted(domain, count)
        counted = counters.outcomes
        for name, count in outcomes.items():
            setattr(counted, name, getattr(counted, name) + count)
        return results

    def _roll_recipient(self, email: Email) -> tuple[MessageStatus, str, str]:
        """The answer to a recipient not accepted before, with its receiving domain."""
        knobs = self.knobs
        domain = _domain(email.to)
        if "@" not in email.to.strip("@"):
            self.counters.rejected += 1
            return MessageStatus.REJECTED, "invalid recipient address", domain
        if not self.domains.admit(domain):
            self.counters.throttled += 1
            return MessageStatus.THROTTLED, deferral_reason(domain), domain
        roll = self._rng.random()
        if roll < knobs.recipient_throttle_rate:
            self.counters.throttled += 1
            return MessageStatus.THROTTLED, "simulated per-recipient throttling", domain
        roll -= knobs.recipient_throttle_rate
        if roll < knobs.transient_rate:
            self.counters.transient += 1
            return MessageStatus.TRANSIENT_ERROR, "simulated transient failure", domain
        roll -= knobs.transient_rate
        if roll < knobs.reject_rate:
            self.counters.rejected += 1
            return MessageStatus.REJECTED, "simulated rejection: recipient refused", domain
        return _ACCEPTED, "", domain


def _whole_call_refusal(
    rolls: list[Roll],
    answers: frozenset[MessageStatus],
    retry_after_s: float,
) -> CallRefused | None:
    """What a call gets when a recipient must be retried and the dialect cannot say so."""
    statuses = {roll[0] for roll in rolls if roll is not None} - answers
    if MessageStatus.THROTTLED in statuses:
        return CallRefused(429, "simulated throttling of a recipient", float(retry_after_s))
    if MessageStatus.TRANSIENT_ERROR in statuses:
        return CallRefused(503, "simulated transient failure of a recipient")
    return None


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def _digest(message_id: str) -> bytes:
    return hashlib.blake2b(message_id.encode(), digest_size=16).digest()
