"""What a consumer strategy is: the small interface between the runner and a service's work.

The runner (`shared.kafka.runner`) owns the consumer, the rebalance, the commits, the
dead-letter topic and backpressure; a strategy owns the work and says which offsets
are safe to commit. The runner drives it like this:

    capacity()          how many more records it takes now; 0: the runner waits (`room`),
                        and pauses the partitions if the wait is long
    room(t)             return once capacity may have come back, or after `t` seconds
    submit(record)      take one record (per partition in offset order); never blocks
    poll()              do what is due (handle buffered records, start a due write);
                        raises only when the work failed in a way retrying cannot fix
    committable()       per partition, the offset below which every record is done and
                        durable; the strategy makes its own state durable first
    join(parts, t)      finish the work of `parts` (None: all) within `t` seconds; what is
                        left stays uncommitted, so the next owner reads it again
    forget(parts)       drop revoked partitions; late results of theirs are ignored
    close()             cancel whatever still runs

Invalid records (a broken contract, a message no retry can fix) are handed to
`Context.dead_letters`; "not now" is expressed by capacity, never by an error.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import TopicPartition

from shared.contracts.base import ContractError


class KafkaRecord(Protocol):
    """The fields of a consumed record a strategy reads (aiokafka's `ConsumerRecord`)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


class InvalidMessage(Exception):  # noqa: N818 - a verdict on the message, like ContractError
    """Raised by a service's work: this record can never succeed; dead-letter it."""


# What makes a record go to the dead-letter topic rather than be retried.
INVALID: tuple[type[Exception], ...] = (InvalidMessage, ContractError)


class DeadLetters(Protocol):
    """Where a strategy puts records it refuses (the runner sends them before committing)."""

    def put(self, record: KafkaRecord, error: str) -> None: ...


@dataclass(frozen=True)
class Context:
    """What the runner gives a strategy it creates."""

    group: str
    dead_letters: DeadLetters


@dataclass(frozen=True)
class Backoff:
    """Delays between retries of failing work: `initial_s`, doubling up to `max_s`."""

    initial_s: float = 0.5
    max_s: float = 10.0

    def next(self, delay: float) -> float:
        """The delay after `delay`."""
        return min(delay * 2, self.max_s)


def partition_of(record: KafkaRecord) -> TopicPartition:
    """The topic-partition `record` came from."""
    return TopicPartition(record.topic, record.partition)


class Strategy(Protocol):
    """One consumer's work, as the runner drives it (see the module docstring)."""

    def capacity(self) -> int: ...
    async def room(self, timeout: float) -> None: ...
    def submit(self, record: KafkaRecord) -> None: ...
    async def poll(self) -> None: ...
    async def committable(self) -> dict[TopicPartition, int]: ...
    async def join(self, partitions: Collection[TopicPartition] | None, timeout: float) -> None: ...
    def forget(self, partitions: Collection[TopicPartition]) -> None: ...
    async def close(self) -> None: ...


StrategyFactory = Callable[[Context], Strategy]
