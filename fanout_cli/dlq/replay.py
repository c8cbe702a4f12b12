"""Replaying dead letters to the topic they came from, and emptying a dead-letter topic.

A replayed record is the original: same key (so the same partition, and the same
campaign's order), same value, plus a `fanout-replayed-from` header naming the dead
letter. Every consumer is idempotent (deterministic event ids, the sender's batch ledger,
the sink's insert tokens), so a record replayed twice, or one that had been applied
after all, changes nothing. The dead letters stay where they are (Kafka topics are
append-only): `drop` removes them once they are dealt with. Each replay and drop is
logged (`dlq.replayed`, `dlq.dropped`) for the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from aiokafka.admin import RecordsToDelete

from fanout_cli.dlq.reading import Letter
from fanout_cli.topic_reading import ranges
from shared.kafka.admin import open_admin
from shared.kafka.consumer import open_reader
from shared.kafka.producer import open_producer
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

REPLAY_HEADER = "fanout-replayed-from"


class NotReplayable(ValueError):
    """A message that is no Fanout dead letter: there is no source to send it back to."""


def replayable(letters: Iterable[Letter]) -> list[Letter]:
    """`letters`, refusing the whole lot when one is not a dead letter (nothing half-done)."""
    chosen = list(letters)
    strangers = [f"{x.partition}:{x.offset}" for x in chosen if x.letter is None]
    if strangers:
        raise NotReplayable(
            f"not Fanout dead letters (no source topic to replay to): {', '.join(strangers)}"
        )
    return chosen


async def replay(common: CommonSettings, topic: str, letters: Iterable[Letter]) -> int:
    """Send each dead letter's original record back to its source topic; how many."""
    chosen = replayable(letters)
    async with open_producer(common) as producer:
        for item in chosen:
            assert item.letter is not None  # replayable() checked it
            origin = f"{topic}:{item.partition}:{item.offset}"
            key = item.letter.key.encode() if item.letter.key is not None else None
            await producer.send_and_wait(
                item.letter.source_topic,
                item.letter.value.encode(),
                key=key,
                headers=[(REPLAY_HEADER, origin.encode())],
            )
            # The CLI's logs only carry warnings: an audit line must get through.
            log.warning(
                "dlq.replayed",
                dead_letter=origin,
                to_topic=item.letter.source_topic,
                source_partition=item.letter.partition,
                source_offset=item.letter.offset,
            )
    return len(chosen)


async def drop(common: CommonSettings, topic: str) -> int:
    """Delete every message `topic` holds now (messages written later stay); how many."""
    async with open_reader(common) as consumer:
        bounds = await ranges(consumer, topic)
    doomed = {tp: RecordsToDelete(end) for tp, (start, end) in bounds.items() if end > start}
    if doomed:
        async with open_admin(common) as admin:
            await admin.delete_records(doomed)
    dropped = sum(end - start for start, end in bounds.values())
    log.warning("dlq.dropped", topic=topic, messages=dropped)
    return dropped
