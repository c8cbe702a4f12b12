"""Reading dead-letter topics: which there are, how many messages each holds, the messages.

Everything goes through aiokafka against FANOUT_KAFKA_BOOTSTRAP_SERVERS, with a consumer
that belongs to no group and commits nothing: looking at a dead-letter topic never moves
anything. Only topics under the configured FANOUT_TOPIC_PREFIX are this deployment's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from shared.contracts.base import ContractError, decode
from shared.contracts.deadletter import DeadLetter
from shared.kafka.admin import check_kafka
from shared.kafka.consumer import open_reader
from shared.settings import CommonSettings
from shared.topics import dead_letter_name

SUFFIX = dead_letter_name("")  # what every dead-letter topic's name ends with
REASON_CHARS = 70  # of an error's first line, to group dead letters by reason
Position = tuple[int, int]  # (partition, offset) of a message in its dead-letter topic


class UnknownTopic(LookupError):
    """A name that is none of this deployment's dead-letter topics (the message lists them)."""


@dataclass(frozen=True)
class Letter:
    """One message of a dead-letter topic, decoded when it is a `DeadLetter`."""

    partition: int
    offset: int
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    raw: bytes
    letter: DeadLetter | None  # None: not a dead letter Fanout wrote (shown raw, never replayed)

    @property
    def position(self) -> Position:
        return (self.partition, self.offset)


def is_dead_letter_topic(name: str, prefix: str) -> bool:
    """Whether `name` is a dead-letter topic of the deployment with topic prefix `prefix`."""
    return name.startswith(prefix) and name.endswith(SUFFIX)


async def dead_letter_topics(common: CommonSettings) -> list[str]:
    """The dead-letter topics on the broker under the configured prefix, by name."""
    names = await check_kafka(common)
    return [n for n in names if is_dead_letter_topic(n, common.topic_prefix)]


async def resolve_topic(common: CommonSettings, name: str) -> str:
    """The dead-letter topic `name` means: its broker name, or without the prefix or `.dlq`."""
    topics = await dead_letter_topics(common)
    prefix = common.topic_prefix
    for candidate in (name, prefix + name, dead_letter_name(name), dead_letter_name(prefix + name)):
        if candidate in topics:
            return candidate
    known = ", ".join(topics) or "none"
    raise UnknownTopic(f"{name!r} is not a dead-letter topic here (there are: {known})")


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    parts = consumer.partitions_for_topic(topic) or set()
    if not parts:  # metadata not fetched for this topic yet
        await consumer._client.force_metadata_update()  # noqa: SLF001 - aiokafka has no public way
        parts = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(parts)]


async def ranges(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, tuple[int, int]]:
    """(first offset, end offset) of every partition of `topic`."""
    tps = await _partitions(consumer, topic)
    starts = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    return {tp: (starts[tp], ends[tp]) for tp in tps}


async def count_messages(common: CommonSettings, topics: Iterable[str]) -> dict[str, int]:
    """How many messages each topic holds now."""
    async with open_reader(common) as consumer:
        return {
            topic: sum(end - start for start, end in (await ranges(consumer, topic)).values())
            for topic in topics
        }


async def read_letters(
    common: CommonSettings, topic: str, limit: int, only: set[Position] | None = None
) -> list[Letter]:
    """Up to `limit` messages of `topic` from its beginning (only those at `only`, if given)."""
    found: list[Letter] = []
    async with open_reader(common) as consumer:
        bounds = {tp: r for tp, r in (await ranges(consumer, topic)).items() if r[0] < r[1]}
        if not bounds:
            return found
        consumer.assign(list(bounds))
        for tp, (start, _) in bounds.items():
            consumer.seek(tp, start)
        while bounds and len(found) < limit:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    if only is None or (tp.partition, record.offset) in only:
                        found.append(_letter(record))
                if await consumer.position(tp) >= bounds[tp][1]:
                    bounds.pop(tp, None)
    return found[:limit]


def top_reasons(letters: Iterable[Letter], count: int = 3) -> list[tuple[str, int]]:
    """The most frequent errors among `letters` (first line, shortened), with how many."""
    reasons = Counter(
        (x.letter.error.splitlines() or [""])[0][:REASON_CHARS] if x.letter else "not a dead letter"
        for x in letters
    )
    return reasons.most_common(count)


def _letter(record: ConsumerRecord) -> Letter:
    raw: bytes = record.value or b""
    try:
        letter: DeadLetter | None = decode(DeadLetter, raw)
    except ContractError:
        letter = None
    return Letter(
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        headers=tuple(record.headers or ()),
        raw=raw,
        letter=letter,
    )
