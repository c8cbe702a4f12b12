"""Per-partition commit watermarks for a consumer with many records in flight.

Records of one partition start in offset order but finish in any order. The
offset that may be committed for a partition is the lowest offset still in
flight (or one past the highest offset seen when none is): committing more
would let a crash skip a record whose work was never finished.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from aiokafka import TopicPartition


class PartitionWatermark:
    """The in-flight offsets of one partition and the offset safe to commit."""

    def __init__(self) -> None:
        self._started: deque[int] = deque()
        self._finished: set[int] = set()
        self._last_started = -1
        self.committable: int | None = None

    @property
    def in_flight(self) -> int:
        """Offsets started and not finished (or finished above a gap)."""
        return len(self._started)

    def start(self, offset: int) -> None:
        """Record that the record at `offset` is being worked on (offsets only increase)."""
        if offset <= self._last_started:
            raise ValueError(f"offset {offset} started after {self._last_started}")
        self._last_started = offset
        self._started.append(offset)

    def finish(self, offset: int) -> None:
        """Record that `offset` is done; advance the watermark over every done prefix."""
        self._finished.add(offset)
        while self._started and self._started[0] in self._finished:
            done = self._started.popleft()
            self._finished.discard(done)
            self.committable = done + 1


class WatermarkTracker:
    """Watermarks of every partition with records in flight or done."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, PartitionWatermark] = {}

    def start(self, tp: TopicPartition, offset: int) -> None:
        """A record of `tp` at `offset` entered processing."""
        self._partitions.setdefault(tp, PartitionWatermark()).start(offset)

    def finish(self, tp: TopicPartition, offset: int) -> None:
        """The record of `tp` at `offset` is fully done (ignored if `tp` was forgotten)."""
        mark = self._partitions.get(tp)
        if mark is not None:
            mark.finish(offset)

    def in_flight(self, tps: Iterable[TopicPartition] | None = None) -> int:
        """How many records of `tps` (default: all) are still being worked on."""
        wanted = self._partitions if tps is None else tps
        return sum(m.in_flight for tp in wanted if (m := self._partitions.get(tp)) is not None)

    def committable(self) -> dict[TopicPartition, int]:
        """The offset safe to commit of every partition that finished a record."""
        return {
            tp: mark.committable
            for tp, mark in self._partitions.items()
            if mark.committable is not None
        }

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        """Drop partitions that were revoked; late finishes of theirs are ignored."""
        for tp in tps:
            self._partitions.pop(tp, None)
