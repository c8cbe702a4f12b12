"""The producer on the real broker: a broken sequence starts a new session; a dead one refuses.

After a broker restart aiokafka can count the sequence number of a record it
then fails (it expired while its partition had no leader); the broker refuses
every later record of the partition as out of order. The test puts the producer
in exactly that state (the sequence one record ahead) and checks that one
failed send renews the session and the caller's retry is delivered.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import OutOfOrderSequenceNumber

from fanout_cli.testrun.stack import SuiteStack
from shared import metrics
from shared.kafka.admin import delete_topics, ensure_topics
from shared.kafka.producer import Producer, ProducerStopped, make_producer, open_producer
from shared.settings import CommonSettings
from tests.shared.kafka_helpers import read_all

pytestmark = pytest.mark.kafka


@pytest.fixture
async def topic(base_settings: CommonSettings, topic_prefix: str) -> AsyncIterator[str]:
    """A one-partition topic of the test's own."""
    name = f"{topic_prefix}producer"
    await ensure_topics(base_settings, [(name, 1)])
    yield name
    await delete_topics(base_settings, [name])


@pytest.fixture
async def producer(base_settings: CommonSettings) -> AsyncIterator[Producer]:
    async with open_producer(base_settings) as started:
        yield started


def _lose_a_sequence_number(producer: Producer, topic: str) -> None:
    """What aiokafka does when it expires a record of a leaderless partition."""
    producer._txn_manager.increment_sequence_number(TopicPartition(topic, 0), 1)


async def test_send_out_of_sequence_renews_session_and_retry_is_delivered(
    base_settings: CommonSettings, topic: str, producer: Producer
) -> None:
    await producer.send_and_wait(topic, b"first")
    first_session = producer._txn_manager.producer_id
    renewed = metrics.PRODUCER_SESSION_RESETS._value.get()
    _lose_a_sequence_number(producer, topic)

    with pytest.raises(OutOfOrderSequenceNumber):
        await producer.send_and_wait(topic, b"refused")
    await producer.send_and_wait(topic, b"retried")
    await producer.send_and_wait(topic, b"after")

    assert await read_all(base_settings, topic, expected=3) == [b"first", b"retried", b"after"]
    assert producer._txn_manager.producer_id != first_session
    assert metrics.PRODUCER_SESSION_RESETS._value.get() == renewed + 1


async def test_failures_of_an_old_session_do_not_renew_the_new_one(
    topic: str, producer: Producer
) -> None:
    await producer.send_and_wait(topic, b"first")
    _lose_a_sequence_number(producer, topic)
    refused = await asyncio.gather(
        *[producer.send_and_wait(topic, f"r{i}".encode()) for i in range(3)],
        return_exceptions=True,
    )
    assert all(isinstance(r, OutOfOrderSequenceNumber) for r in refused)
    await producer.send_and_wait(topic, b"retried")
    session = producer._txn_manager.producer_id
    renewed = metrics.PRODUCER_SESSION_RESETS._value.get()

    await producer.send_and_wait(topic, b"more")
    assert producer._txn_manager.producer_id == session
    assert metrics.PRODUCER_SESSION_RESETS._value.get() == renewed


async def test_send_after_sender_ended_refuses_instead_of_waiting_forever(
    base_settings: CommonSettings, topic: str
) -> None:
    producer = make_producer(base_settings)
    await producer.start()
    await producer.stop()
    with pytest.raises(ProducerStopped, match="producer stopped"):
        await producer.send(topic, b"late")


SNAPPY, LZ4 = 2, 3  # a record batch's codec: the low three bits of its attributes


def _codecs_on_disk(stack: SuiteStack, topic: str) -> list[int]:
    """The codec of each record batch the broker wrote to partition 0's first segment
    (v2 batch header: base offset 8 bytes, length 4, leader epoch 4, magic 1, crc 4,
    attributes 2)."""
    data = (stack.home / "kafka" / "data" / f"{topic}-0" / f"{0:020d}.log").read_bytes()
    codecs, at = [], 0
    while at + 23 <= len(data):
        (length,) = struct.unpack_from(">i", data, at + 8)
        (attributes,) = struct.unpack_from(">h", data, at + 21)
        codecs.append(attributes & 0x7)
        at += 12 + length
    return codecs


async def test_records_are_snappy_on_the_broker_and_lz4_ones_still_read(
    base_settings: CommonSettings, suite_stack: SuiteStack, topic: str, producer: Producer
) -> None:
    # the producers compress with snappy (aiokafka's lz4 is level 9 only); a topic written
    # before with lz4 keeps its records, and a consumer reads both, in order
    async with open_producer(base_settings, compression_type="lz4") as earlier:
        await earlier.send_and_wait(topic, b"lz4 " * 200)
    await producer.send_and_wait(topic, b"snappy " * 200)
    assert _codecs_on_disk(suite_stack, topic) == [LZ4, SNAPPY]
    assert await read_all(base_settings, topic, expected=2) == [b"lz4 " * 200, b"snappy " * 200]
