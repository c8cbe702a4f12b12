"""Reading dead-letter topics: which there are, how many messages each holds, the messages.

Everything goes through aiokafka against FANOUT_KAFKA_BOOTSTRAP_SERVERS, with a consumer
that belongs to no group and commits nothing: looking at a dead-letter topic never moves
anything. Only topics under the configured FANOUT_TOPIC_PREFIX are this deployment's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from contextlib import aclosing
from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord

from fanout_cli.topic_reading import ranges, records
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
        reading = records(consumer, await ranges(consumer, topic))
        async with aclosing(reading):
            async for record in reading:
                if only is None or (record.partition, record.offset) in only:
                    found.append(_letter(record))
                if len(found) >= limit:
                    break
    return found


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
