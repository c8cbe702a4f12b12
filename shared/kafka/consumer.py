"""The one place the services build an `AIOKafkaConsumer`, with Fanout's defaults.

aiokafka's defaults are wrong for Fanout: auto-commit would commit records whose
work never finished. Here: commits are manual (the runner commits last, behind
the strategy), a new group starts at the earliest record, and only committed
transactional records are read. Also here: the calls the runner makes on a
consumer (`ConsumerPort`, which a fake implements in tests), starting it with a
clear error, stopping it within a bound, and backpressure through pause/resume.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from shared.kafka import kafka_unreachable
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConsumerOptions:
    """The consumer settings a service may tune (aiokafka's defaults otherwise)."""

    max_poll_records: int = 500
    session_timeout_ms: int = 10_000
    max_poll_interval_ms: int = 300_000
    fetch_max_bytes: int = 50 * 1024 * 1024
    max_partition_fetch_bytes: int = 1024 * 1024
    # The broker answers a fetch once this many bytes are there, or after the wait: a
    # larger minimum means fewer fetches (broker CPU) on a busy topic, at most the wait's
    # delay on a quiet one.
    fetch_min_bytes: int = 1
    fetch_max_wait_ms: int = 500
    # How long the broker waits for every member to rejoin a rebalance (after its revoke
    # callback). None: aiokafka's default, the session timeout.
    rebalance_timeout_ms: int | None = None

    @property
    def heartbeat_interval_ms(self) -> int:
        """aiokafka's 3 s, or a third of a shorter session: a member whose session is near
        the broker's 6 s minimum still gets three heartbeats in before it is declared dead."""
        return min(3_000, self.session_timeout_ms // 3)


class ConsumerPort(Protocol):
    """The calls the runner makes on its consumer (an `AIOKafkaConsumer`, or a fake in tests)."""

    def subscribe(self, topics: list[str], listener: Any) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def getmany(
        self, *, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[Any]]: ...
    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...
    def assignment(self) -> set[TopicPartition]: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...
    def paused(self) -> set[TopicPartition]: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    def last_poll_timestamp(self, partition: TopicPartition) -> int | None: ...


def make_consumer(common: CommonSettings, group: str, options: ConsumerOptions) -> ConsumerPort:
    """A not-yet-started consumer of `group` with manual commits."""
    consumer: ConsumerPort = AIOKafkaConsumer(
        bootstrap_servers=common.kafka_bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,  # commit is the last step, never automatic
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=options.max_poll_records,
        session_timeout_ms=options.session_timeout_ms,
        heartbeat_interval_ms=options.heartbeat_interval_ms,
        rebalance_timeout_ms=options.rebalance_timeout_ms,
        max_poll_interval_ms=options.max_poll_interval_ms,
        fetch_max_bytes=options.fetch_max_bytes,
        max_partition_fetch_bytes=options.max_partition_fetch_bytes,
        fetch_min_bytes=options.fetch_min_bytes,
        fetch_max_wait_ms=options.fetch_max_wait_ms,
    )
    return consumer


async def start_consumer(consumer: ConsumerPort, topics: Sequence[str], where: str) -> None:
    """Start `consumer`; `DependencyUnavailable` when the broker at `where` does not answer."""
    try:
        await consumer.start()
    except (KafkaError, OSError) as exc:
        await consumer.stop()
        raise kafka_unreachable(where, f"consumer of {', '.join(topics)}: {exc!r}") from exc


@asynccontextmanager
async def open_reader(
    common: CommonSettings, request_timeout_ms: int = 15_000
) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer in no group, committing nothing: it looks at topics (offsets,
    messages) without moving anything. `DependencyUnavailable` when the broker is down."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=common.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=request_timeout_ms,
    )
    try:
        await consumer.start()
    except (KafkaError, OSError) as exc:
        await consumer.stop()
        raise kafka_unreachable(common.kafka_bootstrap_servers, repr(exc)) from exc
    except asyncio.CancelledError:  # the caller's timeout: leave no connection behind
        await consumer.stop()
        raise
    try:
        yield consumer
    finally:
        await consumer.stop()


async def stop_consumer(consumer: ConsumerPort, timeout_s: float) -> None:
    """Stop `consumer`, giving up after `timeout_s` (a stuck one may never leave its group)."""
    try:
        await asyncio.wait_for(consumer.stop(), timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:
        log.warning("consumer.close_failed", error=repr(exc))


def apply_backpressure(consumer: ConsumerPort, room: int) -> int:
    """Pause every assigned partition while the strategy is full; resume once it has room.

    A paused consumer keeps polling (so it stays in its group) but fetches nothing. The
    position does not move back, but aiokafka drops the records it had fetched for a
    paused partition, so the broker sends them again after the resume: the runner
    pauses only after a long wait (`RunnerOptions.pause_after_s`).
    """
    if room <= 0:
        running = consumer.assignment() - consumer.paused()
        if running:
            consumer.pause(*running)
        return 0
    paused = consumer.paused()
    if paused:
        consumer.resume(*paused)
    return room
