"""What counts as a consumer's progress, on a fake consumer and a pinned clock."""

from __future__ import annotations

from shared.kafka.liveness import ConsumerState, Liveness
from tests.shared.kafka.fakes import P0, P1, FakeConsumer, PinnedClock

STALL_S = 30.0


def _fetching() -> tuple[Liveness, FakeConsumer, PinnedClock]:
    """A consumer assigned P0 and P1, both fetched at least once."""
    clock = PinnedClock()
    liveness = Liveness(STALL_S, clock)
    consumer = FakeConsumer([], fetched_at={P0: 1_000, P1: 1_000})
    consumer._assigned = {P0, P1}
    liveness.started()
    liveness.assigned(2)
    liveness.observe(consumer, 0)
    return liveness, consumer, clock


def test_fetch_responses_without_records_are_progress() -> None:
    liveness, consumer, clock = _fetching()
    for answered_at in (2_000, 3_000, 4_000):
        clock.now += STALL_S - 1
        consumer.fetched_at[P1] = answered_at
        liveness.observe(consumer, 0)
    health = liveness.health()
    assert health.consuming and health.state is ConsumerState.FETCHING
    assert health.idle_s == 0


def test_no_fetch_response_for_stall_time_is_a_stall() -> None:
    liveness, consumer, clock = _fetching()
    clock.now += STALL_S
    liveness.observe(consumer, 0)
    assert not liveness.stalled()
    clock.now += 1
    liveness.observe(consumer, 0)
    assert liveness.stalled()
    assert liveness.health().describe() == "fetching, 2 partitions, last progress 31 s ago"


def test_records_polled_are_progress() -> None:
    liveness, consumer, clock = _fetching()
    clock.now += STALL_S + 5
    liveness.observe(consumer, 3)
    assert not liveness.stalled()


def test_paused_partitions_are_backpressure_not_stall() -> None:
    liveness, consumer, clock = _fetching()
    consumer.pause(P0, P1)
    for _ in range(5):
        clock.now += STALL_S
        liveness.observe(consumer, 0)
    assert liveness.health().state is ConsumerState.BACKPRESSURE
    assert not liveness.stalled()
    consumer.resume(P0, P1)
    clock.now += STALL_S + 1
    liveness.observe(consumer, 0)
    assert liveness.stalled(), "once resumed, fetches must answer again"


def test_a_full_strategy_waited_for_is_backpressure_but_not_during_a_rebalance() -> None:
    liveness, consumer, clock = _fetching()
    for _ in range(5):
        clock.now += STALL_S
        liveness.backpressure()
    assert liveness.health().state is ConsumerState.BACKPRESSURE
    assert not liveness.stalled()
    liveness.revoked()
    clock.now += STALL_S + 1
    liveness.backpressure()
    assert liveness.health().state is ConsumerState.REBALANCING
    assert liveness.stalled(), "a rebalance that never ends is a stall, full strategy or not"


def test_member_without_partitions_is_idle_not_stalled() -> None:
    clock = PinnedClock()
    liveness = Liveness(STALL_S, clock)
    liveness.started()
    liveness.assigned(0)
    consumer = FakeConsumer([])
    for _ in range(5):
        clock.now += STALL_S
        liveness.observe(consumer, 0)
    assert liveness.health().state is ConsumerState.IDLE
    assert not liveness.stalled()


def test_rebalance_that_never_assigns_is_a_stall() -> None:
    liveness, consumer, clock = _fetching()
    liveness.revoked()
    clock.now += STALL_S + 1
    consumer.fetched_at[P0] = 9_000  # late responses of revoked partitions do not count
    liveness.observe(consumer, 0)
    assert liveness.stalled()
    assert liveness.health().state is ConsumerState.REBALANCING


def test_consumer_that_never_joins_is_a_stall() -> None:
    clock = PinnedClock()
    liveness = Liveness(STALL_S, clock)
    liveness.started()
    clock.now += STALL_S + 1
    assert liveness.stalled()
    assert liveness.health().state is ConsumerState.STARTING


def test_excuse_restarts_the_clock() -> None:
    liveness, consumer, clock = _fetching()
    clock.now += STALL_S + 1
    assert liveness.stalled()
    liveness.excuse()
    assert not liveness.stalled()
    clock.now += STALL_S + 1
    assert liveness.stalled()
