"""The guard's part of the batched strategy over `email.events`, readable top to bottom:

    record → its events (`decode_events`; invalid → dead letter; a value whose
    `event-types` header names no counted type is read past) → the facts it counts
    (delivered, bounced, complained) → accumulate (≤ batch_max_events or batch_max_seconds)
    → one transaction: drop records already applied (`shared.kafka.applied`) and events
      already counted (`RecentIds`) → count, judge, pause (`judge`) → commit offsets

Counting is exactly once per record, whatever Kafka redelivers: the records' offsets move
in the transaction that counts them. A copy of an event in a new record (a webhook
retried after its events were published) is dropped by its deterministic event id while
the id is among the newest `recent_event_ids` this instance counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import asyncpg

from services.guard.judge import Paused, judge
from services.guard.recent import RecentIds
from services.guard.tally import COUNTED, Fact, Tally, facts_of
from shared import metrics
from shared.contracts.fast_events import decode_events, holds_none_of
from shared.kafka.applied import unapplied
from shared.kafka.strategies.batch import Batch
from shared.kafka.strategy import KafkaRecord

Facts = list[Fact]


def utc_now() -> datetime:
    """The production wall clock."""
    return datetime.now(UTC)


class GuardStep:
    """Counts a batch of records and pauses what crossed a line, in one transaction."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        group: str,
        recent: RecentIds,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._pool = pool
        self._group = group
        self._recent = recent
        self._clock = clock
        self.paused: list[Paused] = []  # since start (tests, logs)

    def decode(self, record: KafkaRecord) -> tuple[Facts, int]:
        """The record's counted facts (weight: every event it holds). A value whose header
        says it holds no counted type (the sender's outcomes, the resolver's exclusions) is
        read past undecoded (weight 1): nothing of it would be counted."""
        if holds_none_of(record.headers, COUNTED):
            return [], 1
        events = decode_events(record.value)
        return facts_of(events), len(events)

    def recheck(self, record: KafkaRecord) -> tuple[Facts, int]:
        """The same full contract check (decoding is already strict)."""
        return self.decode(record)

    async def write(self, batch: Batch[Facts]) -> None:
        """Count the batch's new records and judge what they touched."""
        async with self._pool.acquire() as conn, conn.transaction():
            applied = await unapplied(conn, self._group, batch)
            fresh = self._first_copies(fact for facts in applied for fact in facts)
            paused = await judge(conn, Tally.of(fresh), self._clock()) if fresh else []
        self._recent.remember(f.event_id for f in fresh)
        self.paused += paused
        counted = len(fresh)
        metrics.GUARD_EVENTS.labels("counted").inc(counted)
        metrics.GUARD_EVENTS.labels("duplicate").inc(sum(map(len, applied)) - counted)

    def _first_copies(self, facts: Iterable[Fact]) -> Facts:
        """The facts whose event was not counted before (by this instance, lately)."""
        seen: set[int] = set()
        first: Facts = []
        for fact in facts:
            if fact.event_id in self._recent or fact.event_id in seen:
                continue
            seen.add(fact.event_id)
            first.append(fact)
        return first
