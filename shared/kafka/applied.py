"""Exactly-once application to Postgres: a consumer group's own record of the offsets it applied.

Kafka delivers at least once: after a crash or a rebalance, records already applied come
again. A consumer whose effects live in Postgres (the notifier queues deliveries and counts
feedback, the guard counts bounces and complaints) would apply such a record twice. Instead,
the transaction that applies a batch first locks its partitions' rows in `consumer_offsets`,
drops the records below each `next_offset`, and moves `next_offset` past the batch: the
records of a batch are applied exactly once whichever instance reads them (a second owner
during a rebalance waits on the row locks, then finds them applied), and Kafka's own commit
only saves re-reading.
"""

from __future__ import annotations

from typing import TypeVar

import asyncpg

from shared.kafka.strategies.batch import Batch

T = TypeVar("T")

ENSURE = """
INSERT INTO consumer_offsets (group_id, topic, partition, next_offset)
SELECT $1, topic, partition, 0 FROM unnest($2::text[], $3::int[]) AS w(topic, partition)
ON CONFLICT DO NOTHING
"""
LOCK = """
SELECT o.topic, o.partition, o.next_offset
FROM consumer_offsets o JOIN unnest($2::text[], $3::int[]) AS w(topic, partition)
    ON o.topic = w.topic AND o.partition = w.partition
WHERE o.group_id = $1 ORDER BY o.topic, o.partition FOR UPDATE OF o
"""
ADVANCE = """
UPDATE consumer_offsets o SET next_offset = greatest(o.next_offset, x.next_offset)
FROM unnest($2::text[], $3::int[], $4::bigint[]) AS x(topic, partition, next_offset)
WHERE o.group_id = $1 AND o.topic = x.topic AND o.partition = x.partition
"""


async def unapplied(conn: asyncpg.Connection, group: str, batch: Batch[T]) -> list[T]:
    """The values of `batch` not applied yet; marks the whole batch applied.

    Call inside the transaction that applies the returned values.
    """
    parts = sorted(batch.runs, key=lambda tp: (tp.topic, tp.partition))
    topics, partitions = [tp.topic for tp in parts], [tp.partition for tp in parts]
    await conn.execute(ENSURE, group, topics, partitions)
    rows = await conn.fetch(LOCK, group, topics, partitions)
    applied_below = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
    fresh: list[T] = []
    for tp in parts:
        run = batch.runs[tp]
        below = applied_below.get((tp.topic, tp.partition), 0)
        pairs = zip(run.records, run.values, strict=True)
        fresh.extend(value for record, value in pairs if record.offset >= below)
    nexts = [batch.runs[tp].last + 1 for tp in parts]
    await conn.execute(ADVANCE, group, topics, partitions, nexts)
    return fresh
