"""The per-partition commit watermark: never past a record still in flight."""

from __future__ import annotations

import random

import pytest
from aiokafka import TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from shared.kafka.watermarks import PartitionWatermark, WatermarkTracker

TP = TopicPartition("t.email.sends", 0)
OTHER = TopicPartition("t.email.sends", 1)


def test_commit_watermark_stops_at_first_unfinished_offset() -> None:
    tracker = WatermarkTracker()
    for offset in (10, 11, 12, 13):
        tracker.start(TP, offset)
    tracker.finish(TP, 12)
    tracker.finish(TP, 13)
    assert tracker.committable() == {}  # 10 and 11 still in flight
    tracker.finish(TP, 10)
    assert tracker.committable() == {TP: 11}
    tracker.finish(TP, 11)
    assert tracker.committable() == {TP: 14}
    assert tracker.in_flight() == 0


def test_commit_watermark_reports_only_partitions_with_a_finished_record() -> None:
    tracker = WatermarkTracker()
    tracker.start(TP, 0)
    tracker.start(OTHER, 5)
    tracker.finish(TP, 0)
    assert tracker.committable() == {TP: 1}
    tracker.finish(OTHER, 5)
    assert tracker.committable() == {TP: 1, OTHER: 6}


def test_forget_partition_ignores_late_finishes() -> None:
    tracker = WatermarkTracker()
    tracker.start(TP, 3)
    tracker.forget([TP])
    tracker.finish(TP, 3)
    assert tracker.committable() == {}
    assert tracker.in_flight([TP]) == 0


def test_start_offset_going_backwards_is_refused() -> None:
    mark = PartitionWatermark()
    mark.start(5)
    with pytest.raises(ValueError, match="started after"):
        mark.start(5)


@given(st.integers(1, 60), st.randoms(use_true_random=False))
def test_commit_watermark_never_passes_an_unfinished_offset(n: int, rnd: random.Random) -> None:
    mark = PartitionWatermark()
    for offset in range(n):
        mark.start(offset)
    order = list(range(n))
    rnd.shuffle(order)
    finished: set[int] = set()
    for offset in order:
        mark.finish(offset)
        finished.add(offset)
        expected = next((o for o in range(n) if o not in finished), n)
        assert mark.committable == (expected or None)
    assert mark.committable == n and mark.in_flight == 0
