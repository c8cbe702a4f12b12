"""The benchmark reads the funnel (an exact count over the whole campaign) sparingly while
the campaign's own counters are far from done (every 10 s), and at every poll once they are
close: 95 % accounted for, or the rest due within 3 s at their rate so far."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fanout_cli.bench.e2e import FunnelReads


def row(matched: int | None, sent: int, state: str = "sending") -> dict[str, Any]:
    return {"matched": matched, "sent": sent, "failed": 0, "suppressed": 0,
            "cancelled": 0, "excluded": 0, "state": state}  # fmt: skip


def test_far_from_done_the_funnel_is_read_every_ten_seconds() -> None:
    reads = FunnelReads()
    polls = [i * 0.25 for i in range(81)]  # 0 .. 20 s
    read = [t for t in polls if reads.due(t, row(1_000_000, 10))]
    assert read == [0.0, 10.0, 20.0]


def test_close_to_done_every_poll_reads() -> None:
    reads = FunnelReads()
    assert reads.due(95.0, row(1000, 900))  # ten seconds since the last read
    assert not reads.due(100.0, row(1000, 949))  # 9.5 a second: 28 more in 3 s
    assert reads.due(100.25, row(1000, 950))  # 95 % accounted for
    assert reads.due(100.5, row(1000, 950))
    assert reads.due(100.75, row(1000, 1000, "completed"))


def test_a_campaign_due_within_seconds_at_its_rate_is_read_at_every_poll() -> None:
    """100,000 leads at 20,000 a second: at 80 % its counters are 1 s from done, and the
    reports (about as far behind) may hold every outcome before the counters reach 95 %."""
    reads = FunnelReads()
    assert reads.due(0.0, row(100_000, 0))
    assert not reads.due(2.0, row(100_000, 30_000))  # 15,000/s: 45,000 more in 3 s
    assert reads.due(4.0, row(100_000, 80_000))  # 20,000/s: done within 1 s
    assert reads.due(4.25, row(100_000, 85_000))


def test_excluded_and_every_outcome_count_towards_done() -> None:
    reads = FunnelReads()
    reads.due(0.0, row(100, 0))
    state = {**row(100, 40), "failed": 20, "suppressed": 10, "cancelled": 5, "excluded": 20}
    assert reads.due(0.25, state)


def test_a_completed_campaign_is_read_even_if_its_counters_lag() -> None:
    reads = FunnelReads()
    reads.due(0.0, row(None, 0))
    assert reads.due(0.25, row(1000, 0, "completed"))


@given(
    st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=400),
    st.integers(min_value=1, max_value=10_000),
)
def test_reads_are_at_most_every_ten_seconds_until_close_then_every_poll(
    steps: list[int], matched: int
) -> None:
    reads = FunnelReads()
    sent, last_read = 0, None
    for i, step in enumerate(steps):
        now = i * 0.25
        sent = min(matched, sent + step * matched // 100)
        due = reads.due(now, row(matched, sent))
        rate = sent / now if now else 0.0
        close = sent >= 0.95 * matched or sent + 3.0 * rate >= matched
        if close or last_read is None or now - last_read >= 10.0:
            assert due
        else:
            assert not due
        if due:
            last_read = now


def test_once_every_outcome_is_reported_the_webhooks_are_awaited_every_two_seconds() -> None:
    """The provider's last webhooks may come long after the campaign completed; reading
    the funnel at every poll meanwhile was charged to report_sink's CPU."""
    reads = FunnelReads()
    done = row(1000, 1000, "completed")
    assert reads.due(0.0, done)
    polls = [i * 0.25 for i in range(1, 17)]  # 0.25 .. 4 s
    assert [t for t in polls if reads.due(t, done, reported=True)] == [2.0, 4.0]
