"""One pending insert: the events of several polls, by partition, with their offsets."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition

from services.report_sink.decode import event_rows
from shared.contracts.base import ContractError


@dataclass
class PartitionRun:
    """The consecutive records of one partition in a batch."""

    first: int
    last: int
    chunks: list[bytes] = field(default_factory=list)
    events: int = 0
    records: int = 0
    raws: list[Any] = field(default_factory=list)  # the records that have rows


@dataclass
class PendingBatch:
    """Records waiting for one ClickHouse insert; bounded by event count and age."""

    runs: dict[TopicPartition, PartitionRun] = field(default_factory=dict)
    events: int = 0
    records: int = 0
    started: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.runs)

    def add(self, tp: TopicPartition, records: list[Any]) -> list[tuple[Any, str]]:
        """Decode and add one poll's records of `tp`; returns those refused, with why."""
        run = self.runs.get(tp)
        if run is None:
            run = self.runs[tp] = PartitionRun(records[0].offset, records[0].offset)
            if len(self.runs) == 1:
                self.started = time.monotonic()
        refused: list[tuple[Any, str]] = []
        keep_raw, keep_chunk = run.raws.append, run.chunks.append  # hot loop: bound once
        events = 0
        for raw in records:
            try:
                rows = event_rows(raw.value)
            except ContractError as exc:  # only its offset counts: it goes to the DLQ
                refused.append((raw, str(exc)))
                continue
            keep_raw(raw)
            keep_chunk(rows.body)
            events += rows.events
        run.last = records[-1].offset
        run.records += len(records)
        run.events += events
        self.events += events
        self.records += len(records)
        return refused

    def age(self) -> float:
        """Seconds since the first record arrived."""
        return time.monotonic() - self.started if self.runs else 0.0

    def drop(self, partitions: set[TopicPartition]) -> None:
        """Forget revoked partitions: uncommitted, their new owner reads them again."""
        for tp in partitions & self.runs.keys():
            run = self.runs.pop(tp)
            self.events -= run.events
            self.records -= run.records

    def body(self) -> bytes:
        """The JSONEachRow body of the insert."""
        return b"\n".join(chunk for run in self.runs.values() for chunk in run.chunks)

    def token(self) -> str:
        """A deterministic insert_deduplication_token: the offset ranges of the batch.

        The same ranges re-read after a failure hold the same records, so a retried
        insert that had in fact landed is dropped by ClickHouse.
        """
        ranges = sorted(
            f"{tp.topic}:{tp.partition}:{r.first}-{r.last}" for tp, r in self.runs.items()
        )
        return hashlib.sha256(",".join(ranges).encode()).hexdigest()

    def next_offsets(self) -> dict[TopicPartition, int]:
        """The offsets to commit once the insert returned."""
        return {tp: run.last + 1 for tp, run in self.runs.items()}
