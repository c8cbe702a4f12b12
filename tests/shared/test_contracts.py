"""Every contract's examples validate and round-trip through the real topic."""

from __future__ import annotations

import json

import pytest
from aiokafka import AIOKafkaConsumer

from shared.contracts.base import ContractError, Message, decode, encode
from shared.contracts.registry import CONTRACTS, example_messages
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name

CASES = [(topic, name, raw) for topic in CONTRACTS for name, raw in example_messages(topic)]


def test_every_topic_has_examples() -> None:
    for topic in Topic:
        assert example_messages(topic), f"no example messages for {topic}"


@pytest.mark.parametrize(("topic", "name", "raw"), CASES, ids=[f"{t}/{n}" for t, n, _ in CASES])
def test_example_validates(topic: Topic, name: str, raw: bytes) -> None:
    message = decode(CONTRACTS[topic], raw)
    assert message.schema_version == 1
    assert decode(CONTRACTS[topic], encode(message)) == message


def test_decode_rejects_unknown_field() -> None:
    _, raw = example_messages(Topic.EMAIL_SENDS)[0]
    tampered = raw.replace(b'"batch_no"', b'"surprise": 1, "batch_no"')
    with pytest.raises(ContractError, match="surprise"):
        decode(CONTRACTS[Topic.EMAIL_SENDS], tampered)


def test_send_batch_refuses_more_than_50_recipients() -> None:
    _, raw = example_messages(Topic.EMAIL_SENDS)[0]
    data = json.loads(raw)
    data["recipients"] = data["recipients"][:1] * 51
    with pytest.raises(ContractError, match="recipients"):
        decode(CONTRACTS[Topic.EMAIL_SENDS], json.dumps(data).encode())


@pytest.mark.kafka
async def test_examples_round_trip_through_topics(settings: CommonSettings) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        for topic, _, raw in CASES:
            message = decode(CONTRACTS[topic], raw)
            await producer.send_and_wait(
                topic_name(topic, settings.topic_prefix), encode(message), key=b"k"
            )
    finally:
        await producer.stop()
    for topic in CONTRACTS:
        expected = [decode(CONTRACTS[topic], raw) for t, _, raw in CASES if t == topic]
        consumer = AIOKafkaConsumer(
            topic_name(topic, settings.topic_prefix),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            got: list[Message] = []
            while len(got) < len(expected):
                batch = await consumer.getmany(timeout_ms=5000)
                assert batch, f"timed out reading {topic}"
                got += [decode(CONTRACTS[topic], r.value) for rs in batch.values() for r in rs]
        finally:
            await consumer.stop()
        assert sorted(m.model_dump_json() for m in got) == sorted(
            m.model_dump_json() for m in expected
        )
