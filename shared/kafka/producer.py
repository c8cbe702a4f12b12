"""The producer every service uses.

aiokafka's defaults are wrong for Fanout: `acks=1` can lose acknowledged
records on leader failover, and `linger_ms=0` with 16 KB batches makes many
tiny requests. Here: idempotence (implies acks=all), snappy compression, a short
linger and large batches.

Snappy, not lz4: aiokafka (0.14) compresses lz4 at level 9 (LZ4 HC) with no way to ask
for less, which cost 1,232 µs per resolver request of 20 send batches (219 KB) and
76 µs per value of 50 events; snappy 94 and 16 µs, for 22 % and 11 % more bytes
(bench/results/20261202T1815Z-kafka-codec). Records already written with lz4 are still
read: the consumers decode every codec aiokafka knows.

Idempotence has a failure mode of its own after a broker restart, which this
producer repairs. The broker orders an idempotent producer's records by a
sequence number per partition. When a record waited longer than
`request_timeout_ms` while its partition had no leader (a restarting broker
reports leader -1 for a moment), aiokafka (0.14) fails it but has already
counted its sequence number; from then on the broker refuses every later
record of that partition with OutOfOrderSequenceNumber, and every retry by the
caller fails the same way, for as long as the process lives (the sender stuck
with all its batches in flight). The Java client starts a new producer session
in that case; so does `Producer`: the first send of the current session that
fails on its sequence clears the session, the next records get a new producer
id whose sequences start at 0, and the caller's retry goes through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.producer.transaction_manager import NO_PRODUCER_EPOCH, NO_PRODUCER_ID, PidAndEpoch

from shared import metrics
from shared.kafka import kafka_unreachable
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

LINGER_MS = 5  # how long records wait to be sent with others, unless a service says otherwise

# The broker's answers that mean "this producer session's sequence numbers are broken".
SESSION_BROKEN = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerIdMapping,
    InvalidProducerEpoch,
    ProducerFenced,  # what aiokafka raises for InvalidProducerEpoch
)


class ProducerStopped(KafkaError):  # type: ignore[misc]  # aiokafka is untyped
    """The producer's background sender has ended: records sent now would wait forever.

    A Kafka error (a caller answering "Kafka unavailable" is right), but not one a retry
    clears: the process must get a new producer (`shared.retry.retryable` says no).
    """

    retriable = False


class Producer(AIOKafkaProducer):  # type: ignore[misc]  # aiokafka is untyped
    """aiokafka's idempotent producer that starts a new session when its sequence breaks."""

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Any = None,
    ) -> Any:
        """aiokafka's `send` (so also `send_and_wait`), watching how the record ends."""
        sender = self._sender.sender_task
        if sender is not None and sender.done():
            raise ProducerStopped(f"the Kafka producer stopped; {topic} refused")
        session = self._session()
        delivery = await super().send(topic, value, key, partition, timestamp_ms, headers)
        delivery.add_done_callback(partial(self._delivered, session))
        return delivery

    def _session(self) -> int | None:
        """The producer id records are sent under now (None: idempotence off or no id yet)."""
        manager = self._txn_manager
        if manager is None or not manager.has_pid():
            return None
        pid: int = manager.producer_id
        return pid

    def _delivered(self, session: int | None, delivery: Any) -> None:
        if delivery.cancelled() or not isinstance(delivery.exception(), SESSION_BROKEN):
            return
        # Only the session the record was sent in: failures of an older one are late news.
        if session is not None and session == self._session():
            self._renew_session(session, delivery.exception())

    def _renew_session(self, session: int, cause: BaseException) -> None:
        """Forget the producer id and sequences; the sender asks the broker for a new id
        before it sends anything else (records already in flight keep the old one)."""
        manager = self._txn_manager
        manager._pid_and_epoch = PidAndEpoch(NO_PRODUCER_ID, NO_PRODUCER_EPOCH)
        manager._pid_waiter = self._loop.create_future()
        manager._sequence_numbers.clear()
        metrics.PRODUCER_SESSION_RESETS.inc()
        log.warning("kafka.producer_session_renewed", producer_id=session, cause=repr(cause))


def make_producer(common: CommonSettings, **overrides: Any) -> Producer:
    """A started-later producer with durable, batching defaults; `overrides` win."""
    options: dict[str, Any] = {
        "bootstrap_servers": common.kafka_bootstrap_servers,
        "enable_idempotence": True,
        "acks": "all",
        "compression_type": "snappy",
        "linger_ms": LINGER_MS,
        "max_batch_size": 512 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "request_timeout_ms": 30_000,
    }
    options.update(overrides)
    return Producer(**options)


@asynccontextmanager
async def open_producer(common: CommonSettings, **overrides: Any) -> AsyncIterator[Producer]:
    """A started producer for the length of the block; `DependencyUnavailable` when the
    broker does not answer. Stopping flushes what is still buffered."""
    producer = make_producer(common, **overrides)
    try:
        await producer.start()
    except (KafkaError, OSError) as exc:
        await producer.stop()
        raise kafka_unreachable(common.kafka_bootstrap_servers, f"producer: {exc!r}") from exc
    try:
        yield producer
    finally:
        await producer.stop()
