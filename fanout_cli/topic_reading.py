"""Reading a topic without moving anything: its offsets, and its records up to a point.

A consumer in no group that commits nothing (`shared.kafka.consumer.open_reader`) looks
at the partitions of a topic: where each starts and ends now, and every record between
two offsets. `fanout dlq` reads its dead letters this way; the benchmarks read what a run
added to `email.sends` and `email.events` (from the ends noted before it to the ends now).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from shared.kafka.consumer import open_reader
from shared.settings import CommonSettings

Bounds = dict[TopicPartition, tuple[int, int]]  # (first offset, end offset) per partition


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    parts = consumer.partitions_for_topic(topic) or set()
    if not parts:  # metadata not fetched for this topic yet
        await consumer._client.force_metadata_update()  # noqa: SLF001 - aiokafka has no public way
        parts = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(parts)]


async def ranges(consumer: AIOKafkaConsumer, topic: str) -> Bounds:
    """(first offset, end offset) of every partition of `topic`."""
    tps = await _partitions(consumer, topic)
    starts = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    return {tp: (starts[tp], ends[tp]) for tp in tps}


async def end_offsets(common: CommonSettings, topic: str) -> dict[int, int]:
    """The end offset of every partition of `topic` now: where records written next go."""
    async with open_reader(common) as consumer:
        return {tp.partition: end for tp, (_, end) in (await ranges(consumer, topic)).items()}


async def records(
    consumer: AIOKafkaConsumer, bounds: Bounds
) -> AsyncGenerator[ConsumerRecord, None]:
    """Every record of the partitions in `bounds` from each one's first offset to (not
    including) its end offset; records written past the end are left out."""
    pending = {tp: span for tp, span in bounds.items() if span[0] < span[1]}
    if not pending:
        return
    consumer.assign(list(pending))
    for tp, (start, _) in pending.items():
        consumer.seek(tp, start)
    while pending:
        for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
            end = bounds[tp][1]
            for record in batch:
                if record.offset < end:
                    yield record
            if await consumer.position(tp) >= end:
                pending.pop(tp, None)


async def records_since(
    common: CommonSettings, topic: str, since: Mapping[int, int]
) -> AsyncGenerator[ConsumerRecord, None]:
    """Every record `topic` received after `since` (partition → offset, from `end_offsets`;
    a partition missing from it is read from its start) up to its end now."""
    async with open_reader(common) as consumer:
        bounds = {
            tp: (max(start, since.get(tp.partition, start)), end)
            for tp, (start, end) in (await ranges(consumer, topic)).items()
        }
        async for record in records(consumer, bounds):
            yield record
