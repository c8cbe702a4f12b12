"""The dead-letter queue of a consumer: refused records go to `<topic>.dlq`, with the error.

`put` never blocks the strategy that refuses a record: the send runs in the
background and is retried until the broker acknowledges it. The runner awaits
`flush` before every commit, so an offset is never committed past a refused
record whose dead letter is not yet durable (a crash then re-reads it).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from shared import metrics
from shared.contracts.base import encode
from shared.contracts.deadletter import DeadLetter
from shared.kafka.strategy import KafkaRecord
from shared.topics import dead_letter_name

log = structlog.get_logger(__name__)

MAX_ERROR_CHARS = 2000  # a handler's error can quote a whole payload; the record is kept anyway


class LetterProducer(Protocol):
    """The producer call a dead-letter queue needs (aiokafka's `AIOKafkaProducer`)."""

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> Any: ...


def dead_letter(record: KafkaRecord, error: str, group: str) -> DeadLetter:
    """The dead-letter message of `record`."""
    return DeadLetter(
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode(errors="replace") if record.key is not None else None,
        value=(record.value or b"").decode(errors="replace"),
        error=error[:MAX_ERROR_CHARS],
        consumer_group=group,
        failed_at=datetime.now(UTC),
    )


class DeadLetterQueue:
    """Sends the records a strategy refuses; `flush` waits until every one is acknowledged."""

    def __init__(self, producer: LetterProducer, group: str) -> None:
        self._producer = producer
        self._group = group
        self._sending: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None

    def put(self, record: KafkaRecord, error: str) -> None:
        """Send `record` and `error` to the record's dead-letter topic (in the background)."""
        log.warning(
            "consumer.dead_lettered",
            group=self._group,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=error[:300],
        )
        task = asyncio.create_task(self._send(record, error))
        self._sending.add(task)
        task.add_done_callback(self._done)

    async def flush(self) -> None:
        """Wait until every letter put so far is acknowledged.

        Raises when one could not be sent (a non-retriable broker answer): committing past
        its record would lose it, so the consumer must stop instead.
        """
        while self._sending:
            await asyncio.wait(set(self._sending))
        if self._failure is not None:
            raise RuntimeError("a dead letter could not be sent") from self._failure

    async def close(self) -> None:
        """Abandon the sends still running (their records were not committed)."""
        for task in self._sending:
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._failure = task.exception()

    async def _send(self, record: KafkaRecord, error: str) -> None:
        async for attempt in AsyncRetrying(
            wait=wait_exponential_jitter(max=10),
            retry=retry_if_exception(_retriable),
        ):
            with attempt:
                await send_dead_letter(self._producer, record, error, self._group)


async def send_dead_letter(
    producer: LetterProducer, record: KafkaRecord, error: str, group: str
) -> None:
    """Put `record` and `error` on the record's dead-letter topic, awaited (no retry)."""
    value = encode(dead_letter(record, error, group))
    await producer.send_and_wait(dead_letter_name(record.topic), value, key=record.key)
    metrics.DEAD_LETTERED.labels(group, record.topic).inc()


def _retriable(exc: BaseException) -> bool:
    """Connection trouble and the broker's retriable answers; not e.g. a too-large message."""
    return isinstance(exc, OSError) or (isinstance(exc, KafkaError) and bool(exc.retriable))
