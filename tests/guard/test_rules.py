"""The guard's rules on counts alone: when a campaign or an account crosses a line, and why,
and how a batch of outcomes is spread over the sliding window's buckets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.guard.rules import PREFIX, Rates, account_verdict, campaign_verdict
from services.guard.tally import Counts
from services.guard.window import BUCKETS, bucket_size, first_kept, split
from shared.reputation import GuardThresholds, percent

DEFAULTS = GuardThresholds()
SMALL = GuardThresholds(min_outcomes=100, window_outcomes=200, account_min_outcomes=100)


def test_campaign_over_its_hard_bounce_line_is_paused_with_the_rate_in_the_reason() -> None:
    verdict = campaign_verdict(DEFAULTS, Rates(1000, 80, 0), Rates(1000, 80, 0))
    assert verdict is not None
    assert (verdict.rule, verdict.rate) == ("campaign", "hard-bounce")
    assert verdict.reason == (
        "paused by guard: hard-bounce rate 8 % over 1,000 outcomes (limit 5 %)"
    )


def test_complaint_spike_in_the_window_pauses_before_the_total_crosses() -> None:
    total = Rates(10_000, 50, 9)  # 0.09 %: under the campaign's 0.1 %
    window = Rates(2_000, 10, 8)  # 0.4 % of the latest 2,000: over the window's 0.3 %
    verdict = campaign_verdict(DEFAULTS, total, window)
    assert verdict is not None and verdict.rule == "window"
    assert verdict.reason == (
        "paused by guard: complaint rate 0.4 % over the last 2,000 outcomes (limit 0.3 %)"
    )


def test_too_few_outcomes_or_a_disabled_guard_never_pause() -> None:
    assert campaign_verdict(DEFAULTS, Rates(999, 999, 999), Rates(999, 999, 999)) is None
    off = GuardThresholds(enabled=False)
    assert campaign_verdict(off, Rates(10**6, 10**5, 10**4), Rates(2000, 500, 50)) is None
    assert account_verdict(off, Rates(10**6, 10**5, 10**4)) is None


def test_account_line_reason_names_the_account_and_the_day() -> None:
    verdict = account_verdict(DEFAULTS, Rates(5_000, 600, 0))
    assert verdict is not None and verdict.rule == "account"
    assert verdict.reason.startswith(PREFIX + "account-wide hard-bounce rate 12 % over 5,000")
    assert account_verdict(DEFAULTS, Rates(4_999, 4_999, 0)) is None


counts = st.integers(min_value=0, max_value=50_000)


@given(outcomes=st.integers(100, 50_000), hard=counts, complaints=counts)
def test_a_campaign_pauses_exactly_when_a_rate_is_over_its_line(
    outcomes: int, hard: int, complaints: int
) -> None:
    hard, complaints = min(hard, outcomes), min(complaints, outcomes)
    rates = Rates(outcomes, hard, complaints)
    window = Rates(0, 0, 0)  # the cumulative line alone
    verdict = campaign_verdict(SMALL, rates, window)
    over = hard / outcomes > SMALL.hard_bounce_rate or complaints / outcomes > SMALL.complaint_rate
    assert (verdict is not None) == over
    if verdict is not None and hard / outcomes > SMALL.hard_bounce_rate:
        assert verdict.rate == "hard-bounce"  # hard bounces are judged first


@given(
    before=st.integers(0, 100_000),
    outcomes=st.integers(0, 5_000),
    hard=st.integers(0, 5_000),
    complaints=st.integers(0, 500),
    window=st.integers(100, 20_000),
)
def test_split_spreads_a_batch_over_the_window_buckets_exactly(
    before: int, outcomes: int, hard: int, complaints: int, window: int
) -> None:
    size = bucket_size(window)
    delta = Counts(outcomes=outcomes, bounced_hard=min(hard, outcomes), complained=complaints)
    pieces = split(before, delta, size)
    after = before + outcomes
    keep = first_kept(after, size)
    assert all(p.bucket >= keep for p in pieces)
    assert all(min(p.outcomes, p.bounced_hard, p.complained) >= 0 for p in pieces)
    assert sorted(p.bucket for p in pieces) == [p.bucket for p in pieces]
    if before // size >= keep:  # nothing of the batch left the window: it is all there
        assert sum(p.outcomes for p in pieces) == outcomes
        assert sum(p.bounced_hard for p in pieces) == delta.bounced_hard
        assert sum(p.complained for p in pieces) == complaints
    assert after // size - keep < BUCKETS  # at most ten buckets are kept


def test_percent_reads_like_people_write_it() -> None:
    assert [percent(r) for r in (0.004, 0.05, 0.0667, 0.001, 1.0)] == [
        "0.4 %",
        "5 %",
        "6.67 %",
        "0.1 %",
        "100 %",
    ]
