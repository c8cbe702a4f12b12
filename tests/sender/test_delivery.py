"""Delivery retries on a pinned clock: throttling is retried for hours, never counted in calls.

The clock moves only when the delivery sleeps, so hours of backoff take no time.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from services.sender.backoff import RetryPolicy
from services.sender.delivery import Attempts, deliver
from services.sender.providers.base import (
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    RecipientResult,
    SendRequest,
)
from services.sender.rate import SendRate
from services.sender.waiting import ProviderWaits
from tests.garbage import collector_finds

HOUR = 3600.0
CAMPAIGN = uuid4()


class Clock:
    """Monotonic seconds that move only when the delivery sleeps."""

    def __init__(self) -> None:
        self.now = 0.25
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Answer = Callable[[OutgoingEmail], Outcome]


class ScriptedProvider:
    """Refuses whole calls (429) until `refuse_until` on the clock, then answers `answer`."""

    name = "simulator"

    def __init__(self, clock: Clock, refuse_until: float, answer: Answer, retry_after: float = 0):
        self.clock = clock
        self.refuse_until = refuse_until
        self.answer = answer
        self.retry_after = retry_after
        self.calls: list[float] = []

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        self.calls.append(self.clock.now)
        if self.clock.now < self.refuse_until:
            raise ProviderRetryable("simulator HTTP 429: throttled", self.retry_after or None)
        return [
            RecipientResult(e.lead_id, self.answer(e), f"p-{e.lead_id}") for e in request.emails
        ]

    async def max_send_rate(self) -> float | None:
        return None

    async def aclose(self) -> None:
        return None


def _request(count: int) -> SendRequest:
    emails = [
        OutgoingEmail(uuid4(), f"r{n}@example.com", "s", "<p>h</p>", "t", f"<m{n}@x>")
        for n in range(count)
    ]
    return SendRequest(uuid4(), CAMPAIGN, "news@example.com", "News", None, emails)


def _attempts(
    provider: ScriptedProvider, clock: Clock, gate: Callable[[], str] = lambda: ""
) -> tuple[Attempts, ProviderWaits]:
    policy = RetryPolicy(
        deadline_s=6 * HOUR, initial_s=1, max_s=60, jitter_s=0, clock=clock, sleep=clock.sleep
    )
    waits = ProviderWaits()

    async def check() -> str:
        return gate()

    return Attempts(provider, SendRate(0), policy, check, waits), waits


async def test_deliver_retries_throttling_for_hours_until_accepted() -> None:
    clock = Clock()
    provider = ScriptedProvider(clock, refuse_until=5 * HOUR, answer=lambda _: Outcome.ACCEPTED)
    attempts, waits = _attempts(provider, clock)
    request = _request(50)
    result = await deliver(attempts, request)
    assert len(result.sent) == 50 and result.failed == {} and result.exhausted_reason == ""
    assert clock.now >= 5 * HOUR
    assert max(clock.sleeps) == 60  # backoff capped at max_s
    assert waits.campaigns() == {}  # no longer waiting once answered


async def test_deliver_honours_retry_after_beyond_max_backoff() -> None:
    clock = Clock()
    provider = ScriptedProvider(
        clock, refuse_until=1.0, answer=lambda _: Outcome.ACCEPTED, retry_after=300
    )
    attempts, _ = _attempts(provider, clock)
    result = await deliver(attempts, _request(3))
    assert len(result.sent) == 3
    assert clock.sleeps == [300]


async def test_deliver_fails_only_what_is_still_refused_after_the_deadline() -> None:
    clock = Clock()  # the first email is answered "throttled" for ever, the rest accepted

    def answer(email: OutgoingEmail) -> Outcome:
        return Outcome.RETRY if email.to == "r0@example.com" else Outcome.ACCEPTED

    provider = ScriptedProvider(clock, refuse_until=0, answer=answer)
    attempts, _ = _attempts(provider, clock)
    result = await deliver(attempts, _request(4))
    assert len(result.sent) == 3 and len(result.failed) == 1
    [reason] = result.failed.values()
    assert reason.startswith("still asked to retry after 6.0 h")
    assert result.exhausted_reason == reason
    assert 6 * HOUR <= clock.now <= 6 * HOUR + 1
    assert provider.calls[-1] < 6 * HOUR + 1  # no call after the deadline


async def test_deliver_counts_the_campaign_as_waiting_while_it_backs_off() -> None:
    clock = Clock()
    seen: list[dict[UUID, str]] = []
    provider = ScriptedProvider(clock, refuse_until=10, answer=lambda _: Outcome.ACCEPTED)
    attempts, waits = _attempts(provider, clock)

    async def sleep(seconds: float) -> None:
        seen.append(waits.campaigns())
        await clock.sleep(seconds)

    attempts = Attempts(
        attempts.provider,
        attempts.rate,
        RetryPolicy(initial_s=1, max_s=60, jitter_s=0, clock=clock, sleep=sleep),
        attempts.gate,
        waits,
    )
    await deliver(attempts, _request(2))
    assert seen and all(s == {CAMPAIGN: "simulator HTTP 429: throttled"} for s in seen)
    assert waits.campaigns() == {}


async def test_deliver_stops_calling_once_the_campaign_is_halted() -> None:
    clock = Clock()
    provider = ScriptedProvider(clock, refuse_until=100, answer=lambda _: Outcome.ACCEPTED)
    halted = ["", "", "campaign paused"]
    attempts, _ = _attempts(provider, clock, gate=lambda: halted.pop(0) if halted else "x")
    result = await deliver(attempts, _request(5))
    assert len(provider.calls) == 2  # the third attempt was refused by the gate
    assert result.halted_reason == "campaign paused"
    assert len(result.undecided) == 5 and result.sent == {} and result.failed == {}


@pytest.mark.parametrize("refused_calls", [0, 2])
async def test_deliver_repeats_an_in_flight_call_before_checking_the_gate(
    refused_calls: int,
) -> None:
    clock = Clock()
    answers = iter([Outcome.ACCEPTED, Outcome.RETRY] * 5)
    provider = ScriptedProvider(clock, refuse_until=refused_calls, answer=lambda _: next(answers))
    attempts, _ = _attempts(provider, clock, gate=lambda: "campaign paused")
    result = await deliver(attempts, _request(2), repeat_in_flight=True)
    # the interrupted call is finished (until the provider answers it), then the gate holds
    assert len(provider.calls) == refused_calls + 1
    assert len(result.sent) == 1 and len(result.undecided) == 1
    assert result.halted_reason == "campaign paused"


async def test_a_delivered_request_is_freed_without_waiting_for_the_collector() -> None:
    """tenacity's retry loop is a reference cycle; the request (the batch's rendered emails)
    must not hang off it, or every batch's emails would wait for the next collection."""
    clock = Clock()
    provider = ScriptedProvider(clock, refuse_until=1.0, answer=lambda _: Outcome.ACCEPTED)
    attempts, _ = _attempts(provider, clock)  # one refused call, then a retry: both hooks ran
    request = _request(5)
    gone: list[weakref.ref[object]] = [weakref.ref(request)]
    gone += [weakref.ref(e) for e in request.emails]
    gc.disable()
    try:
        result = await deliver(attempts, request)
        del request
        alive = [r for r in gone if r() is not None]
    finally:
        gc.enable()
    assert len(result.sent) == 5 and len(provider.calls) == 2
    assert alive == []


async def test_a_first_call_that_succeeds_leaves_no_garbage_for_the_collector() -> None:
    """Only retries run in tenacity's loop (a reference cycle per loop): a batch whose first
    call is answered leaves nothing for the collector, which ran ~24 ms a second in the
    sender while every batch made one.

    The collector's finds (`tests.garbage`) are searched for the delivery's own objects
    (tenacity's, the sender's, their frames and coroutines): its total would count whatever
    else in the process became garbage meanwhile."""
    clock = Clock()
    provider = ScriptedProvider(clock, refuse_until=0, answer=lambda _: Outcome.ACCEPTED)
    attempts, _ = _attempts(provider, clock)
    request = _request(5)
    with collector_finds() as found:
        result = await deliver(attempts, request)
    assert len(result.sent) == 5 and len(provider.calls) == 1
    assert [o for o in found if _of_the_delivery(o)] == []


_DELIVERY_CODE = ("tenacity", "services/sender/")


def _of_the_delivery(o: object) -> bool:
    """Whether a found object is the delivery's: of tenacity's or the sender's types, or a
    frame or coroutine running their code."""
    if type(o).__module__.startswith(("tenacity", "services.sender")):
        return True
    code = getattr(o, "f_code", None) or getattr(o, "cr_code", None)
    return code is not None and any(part in code.co_filename for part in _DELIVERY_CODE)
