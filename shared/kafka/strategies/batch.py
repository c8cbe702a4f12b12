"""One pending write: decoded records of several polls, by partition, with their offsets.

A batch covers, per partition, a consecutive range of offsets (records refused
by their contract included: they went to the dead-letter topic, and their
offsets are committed with the batch). Its size is counted in the service's
unit (`weight`: events for the sink), its age from its first record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from aiokafka import TopicPartition

from shared.kafka.strategy import INVALID, KafkaRecord, partition_of

T = TypeVar("T")
Decoder = Callable[[KafkaRecord], tuple[T, int]]


@dataclass
class PartitionRun(Generic[T]):
    """The consecutive records of one partition in a batch."""

    first: int
    last: int
    records: list[KafkaRecord] = field(default_factory=list)  # those with a value
    values: list[T] = field(default_factory=list)
    weight: int = 0
    count: int = 0  # records seen, refused ones included


@dataclass
class Batch(Generic[T]):
    """Records waiting for one write."""

    runs: dict[TopicPartition, PartitionRun[T]] = field(default_factory=dict)
    weight: int = 0
    count: int = 0
    started: float = 0.0
    revision: int = 0  # bumped when the values were rebuilt: a new body needs a new token

    def __bool__(self) -> bool:
        return bool(self.runs)

    def note(self, record: KafkaRecord, now: float) -> PartitionRun[T]:
        """Count `record` into its partition's range (before it is decoded)."""
        tp = partition_of(record)
        run = self.runs.get(tp)
        if run is None:
            run = self.runs[tp] = PartitionRun(record.offset, record.offset)
            if len(self.runs) == 1:
                self.started = now
        run.last = record.offset
        run.count += 1
        self.count += 1
        return run

    def add(self, run: PartitionRun[T], record: KafkaRecord, value: T, weight: int) -> None:
        """Keep `record`'s decoded `value` for the write."""
        run.records.append(record)
        run.values.append(value)
        run.weight += weight
        self.weight += weight

    def age(self, now: float) -> float:
        """Seconds since the first record arrived."""
        return now - self.started if self.runs else 0.0

    def has_values(self) -> bool:
        """True when at least one record has something to write."""
        return any(run.values for run in self.runs.values())

    def values(self) -> Iterator[T]:
        """The values to write, partition by partition, in offset order."""
        for run in self.runs.values():
            yield from run.values

    def rebuild(self, decode: Decoder[T]) -> list[tuple[KafkaRecord, str]]:
        """Decode every kept record again with `decode`; returns those it refuses, with why."""
        refused: list[tuple[KafkaRecord, str]] = []
        for run in self.runs.values():
            records, values, weight = [], [], 0
            for record in run.records:
                try:
                    value, size = decode(record)
                except INVALID as exc:
                    refused.append((record, str(exc)))
                    continue
                records.append(record)
                values.append(value)
                weight += size
            self.weight += weight - run.weight
            run.records, run.values, run.weight = records, values, weight
        self.revision += 1
        return refused

    def drop(self, partitions: Collection[TopicPartition]) -> None:
        """Forget revoked partitions: uncommitted, their new owner reads them again."""
        for tp in set(partitions) & self.runs.keys():
            run = self.runs.pop(tp)
            self.weight -= run.weight
            self.count -= run.count

    def token(self) -> str:
        """A deterministic idempotency token: the batch's offset ranges (and revision).

        The same ranges re-read after a failure hold the same records, so a retried
        write that had in fact landed can be recognised and dropped by the store.
        """
        ranges = sorted(
            f"{tp.topic}:{tp.partition}:{r.first}-{r.last}" for tp, r in self.runs.items()
        )
        digest = hashlib.sha256(",".join(ranges).encode()).hexdigest()
        return digest if not self.revision else f"{digest}-rebuilt{self.revision}"

    def next_offsets(self) -> dict[TopicPartition, int]:
        """The offsets to commit once the batch is written."""
        return {tp: run.last + 1 for tp, run in self.runs.items()}
