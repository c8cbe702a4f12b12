"""Receiving-domain rates on a pinned clock: slots at the limit's rate times the instance's
share, one burst per call, recipients beyond the hold parked until the rate has room for
them, AIMD on 4.7.x deferrals per domain group, and other domains never slowed."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sender.domain_rates import DomainRates, is_rate_deferral
from services.sender.providers.base import OutgoingEmail
from shared.reputation import DomainLimit
from tests.clock import BootClock

GMAIL = DomainLimit(domains=["gmail.com", "googlemail.com"], rate_per_s=200)


def emails(count: int, domain: str) -> list[OutgoingEmail]:
    return [
        OutgoingEmail(uuid.uuid4(), f"u{i}@{domain}", "s", "<p>h</p>", "t", f"<{i}@x>")
        for i in range(count)
    ]


def rates(clock: BootClock, *limits: DomainLimit, hold_s: float = 1.0) -> DomainRates:
    return DomainRates("simulator", limits, hold_s=hold_s, burst_s=0.25, clock=clock)


def test_gmail_and_googlemail_share_one_limit_and_other_domains_have_none() -> None:
    clock = BootClock()
    domains = rates(clock, GMAIL)
    assert domains.group("a@googlemail.com") == domains.group("b@GMAIL.com") == "gmail.com"
    assert domains.group("c@hotmail.com") == "outlook.com"  # a default group, not limited
    plan = domains.plan(emails(50, "example.org") * 10)
    assert len(plan.send) == 500 and plan.wait_s == 0 and plan.park == []


def test_a_domain_over_its_rate_waits_then_is_parked_until_it_has_room() -> None:
    clock = BootClock()
    domains = rates(clock, GMAIL)
    first = domains.plan(emails(50, "gmail.com") + emails(50, "example.org"))
    assert len(first.send) == 100 and first.wait_s == 0
    waits = [domains.plan(emails(50, "gmail.com")).wait_s for _ in range(5)]
    assert waits == [0.0, 0.25, 0.5, 0.75, 1.0]  # 200/s: 50 every 0.25 s (burst 0.25 s)
    parked = domains.plan(emails(50, "gmail.com") + emails(50, "example.org"))
    assert [e.to.split("@")[1] for e in parked.send] == ["example.org"] * 50
    assert parked.wait_s == 0  # the other domain goes now
    assert len(parked.park) == 50 and parked.park_in_s == 1.5  # beyond the 1 s hold
    again = domains.plan(emails(50, "gmail.com"))
    assert again.park_in_s == 1.5  # parking charges nothing: the rate is kept by what is sent
    clock.advance(10)
    assert domains.plan(emails(50, "gmail.com")).wait_s == 0


def test_a_call_takes_one_burst_of_a_slow_domain_and_parks_the_rest() -> None:
    clock = BootClock()
    domains = rates(clock, GMAIL)
    domains.set_share(3, 12)  # 50/s here: a burst of 0.25 s is 12 emails
    plans = [domains.plan(emails(50, "gmail.com")) for _ in range(3)]
    assert [len(p.send) for p in plans] == [12, 12, 12]
    assert [p.wait_s for p in plans] == pytest.approx([0.0, 0.0, 0.23])
    assert [len(p.park) for p in plans] == [38, 38, 38]
    assert plans[0].park_in_s == pytest.approx(38 / 50)  # room for them in 0.76 s


@settings(max_examples=60, deadline=None)
@given(calls=st.lists(st.tuples(st.floats(0, 0.5), st.integers(1, 50)), min_size=1, max_size=80))
def test_what_is_sent_never_exceeds_the_rate_over_any_span(
    calls: list[tuple[float, int]],
) -> None:
    """Whatever the calls and their spacing, emails sent to a limited group by time t are at
    most rate × t plus the burst and one call's emails."""
    clock = BootClock(start=100.0)
    domains = rates(clock, GMAIL, hold_s=2.0)
    sent_at: list[tuple[float, int]] = []
    for gap, count in calls:
        clock.advance(gap)
        plan = domains.plan(emails(count, "gmail.com"))
        if plan.send:
            sent_at.append((clock.now + plan.wait_s, len(plan.send)))
    sent_at.sort()
    start = sent_at[0][0] if sent_at else 0.0
    total = 0
    for at, count in sent_at:
        total += count
        assert total <= 200 * (at - start) + 200 * 0.25 + 50 + 1e-6


def test_deferrals_halve_the_domain_once_per_cooldown_and_acceptances_raise_it_slowly() -> None:
    clock = BootClock()
    domains = rates(clock, GMAIL)
    limiter = domains.limiter("gmail.com")
    assert limiter is not None
    domains.answered(["x@example.org"], ["a@gmail.com", "b@googlemail.com"])
    assert limiter.factor == 0.5
    domains.answered([], ["c@gmail.com"])  # the same second: counted once
    assert limiter.factor == 0.5
    clock.advance(1.0)
    domains.answered([], ["d@gmail.com"])
    assert limiter.factor == 0.25 and domains.slowed() == 1
    for _ in range(10):
        domains.answered(["e@gmail.com"], [])
    assert abs(limiter.factor - 0.45) < 1e-9  # +0.02 per accepted call
    assert domains.limiter("example.org") is None  # other domains untouched


def test_deferred_recipients_are_parked_until_the_lowered_rate_has_room() -> None:
    clock = BootClock()
    domains = rates(clock, GMAIL)
    assert domains.plan(emails(50, "gmail.com")).wait_s == 0
    domains.answered([], ["a@gmail.com"])  # 200/s halved: 100/s from now
    assert domains.defer(emails(20, "gmail.com")) == pytest.approx(0.2)
    assert domains.defer(emails(50, "gmail.com")) == pytest.approx(0.5)


def test_an_unlimited_domain_that_defers_gets_a_limit_from_its_recent_rate() -> None:
    clock = BootClock(start=10.0)
    domains = rates(clock)
    for _ in range(8):  # 400 in one second to yahoo.com, no limit
        assert len(domains.plan(emails(50, "yahoo.com")).send) == 50
    clock.advance(1.0)
    domains.answered([], ["a@yahoo.com"])  # every recipient deferred: maybe the provider's own
    assert domains.limiter("yahoo.com") is None
    domains.answered(["b@example.org"], ["a@yahoo.com"])  # another domain went through
    limiter = domains.limiter("yahoo.com")
    assert limiter is not None and limiter.adaptive
    assert limiter.rate(1.0) == 200.0  # half of the ~400/s it was sent at
    while limiter.factor < 1.0:
        domains.answered(["b@yahoo.com"], [])
    assert domains.limiter("yahoo.com") is None  # back to full speed: no limit again


def test_rate_limit_deferrals_are_told_from_other_retries() -> None:
    assert is_rate_deferral("421 4.7.28 Gmail has detected an unusual rate of unsolicited mail")
    assert is_rate_deferral("421 4.7.0 [TSS04] Messages temporarily deferred")
    assert is_rate_deferral(
        "450 4.2.1 The user you are trying to contact is receiving mail at a rate"
    )
    assert not is_rate_deferral("452 4.2.2 The email account is over quota")
    assert not is_rate_deferral("simulated transient failure")
