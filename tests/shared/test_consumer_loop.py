"""The consumer runner on the real broker: dead letters, group hand-over, hard kills.

A sequential strategy (the lead resolver's) over `email.events` test topics."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.base import decode, encode
from shared.contracts.deadletter import DeadLetter
from shared.contracts.events import EventBatch
from shared.kafka.consumer import ConsumerOptions
from shared.kafka.producer import make_producer
from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategies.sequential import Record, Sequential
from shared.settings import CommonSettings
from shared.topics import Topic, dead_letter_name, topic_name
from tests.shared.kafka_helpers import read_all, sent_event

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[2]


async def _produce(settings: CommonSettings, topic: str, values: list[bytes]) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        futures = [await producer.send(topic, v, key=str(i).encode()) for i, v in enumerate(values)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.1)


class Collector:
    """A handler that remembers every event id it was given, per runner."""

    def __init__(self) -> None:
        self.seen: Counter[uuid.UUID] = Counter()

    async def __call__(self, records: list[Record[EventBatch]]) -> None:
        for record in records:
            for event in record.message.events:
                self.seen[event.event_id] += 1


def _runner(
    settings: CommonSettings,
    topic: str,
    group: str,
    handle: Collector,
    producer: AIOKafkaProducer,
    options: RunnerOptions | None = None,
) -> Runner:
    return Runner(
        common=settings,
        group=group,
        topics=[topic],
        strategy=lambda ctx: Sequential(ctx, model=EventBatch, handle=handle),
        producer=producer,
        options=options,
    )


async def test_invalid_message_goes_to_dead_letter_topic(settings: CommonSettings) -> None:
    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    values = [
        encode(sent_event(1)),
        b'{"schema_version": 1, "events": "nope"}',
        b"\xff",
        encode(sent_event(2)),
    ]
    await _produce(settings, topic, values)
    collector = Collector()
    producer = make_producer(settings)
    await producer.start()
    stop = asyncio.Event()
    runner = _runner(settings, topic, f"g-{uuid.uuid4().hex}", collector, producer)
    task = asyncio.create_task(runner.run(stop))
    try:
        await _wait_for(lambda: len(collector.seen) == 2)
    finally:
        stop.set()
        await task
        await producer.stop()
    letters = [decode(DeadLetter, v) for v in await read_all(settings, dead_letter_name(topic), 2)]
    assert len(letters) == 2
    assert {letter.source_topic for letter in letters} == {topic}
    assert any("events" in letter.error for letter in letters)
    assert all(letter.error for letter in letters)
    assert sum(collector.seen.values()) == 2


async def test_two_consumers_split_partitions_and_hand_over_on_graceful_stop(
    settings: CommonSettings,
) -> None:
    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    group = f"g-{uuid.uuid4().hex}"
    producer = make_producer(settings)
    await producer.start()
    a, b = Collector(), Collector()
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    opts = RunnerOptions(consumer=ConsumerOptions(max_poll_records=50, session_timeout_ms=10_000))
    loop_a = _runner(settings, topic, group, a, producer, opts)
    loop_b = _runner(settings, topic, group, b, producer, opts)
    task_a = asyncio.create_task(loop_a.run(stop_a))
    await _wait_for(lambda: len(loop_a.assignment) == 12)
    task_b = asyncio.create_task(loop_b.run(stop_b))
    try:
        await _wait_for(lambda: loop_b.assignment and len(loop_a.assignment) < 12)
        await _wait_for(lambda: len(loop_a.assignment) + len(loop_b.assignment) == 12)
        assert not loop_a.assignment & loop_b.assignment
        await _produce(settings, topic, [encode(sent_event(n)) for n in range(600)])
        await _wait_for(lambda: len(a.seen) + len(b.seen) >= 600)
        assert a.seen and b.seen, "both members must have taken part"
        stop_b.set()
        await task_b
        await _wait_for(lambda: len(loop_a.assignment) == 12)
        await _produce(settings, topic, [encode(sent_event(n)) for n in range(600, 1200)])
        await _wait_for(lambda: len(set(a.seen) | set(b.seen)) >= 1200)
        await asyncio.sleep(1.0)  # let any redelivery show up
    finally:
        stop_a.set()
        stop_b.set()
        await asyncio.gather(task_a, task_b)
        await producer.stop()
    total = a.seen + b.seen
    assert len(total) == 1200, "nothing lost"
    assert max(total.values()) == 1, "nothing processed twice after a graceful stop"


async def test_consumer_killed_hard_resumes_from_last_commit(
    settings: CommonSettings, pool: asyncpg.Pool, pg_dsn: str
) -> None:
    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    table = f"probe_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE TABLE {table} (event_id uuid PRIMARY KEY, attempts int NOT NULL)")
    count, max_records = 3000, 100
    await _produce(settings, topic, [encode(sent_event(n)) for n in range(count)])
    env = {
        **os.environ,
        "FANOUT_TOPIC_PREFIX": settings.topic_prefix,
        "FANOUT_DATABASE_URL": pg_dsn,
        "FANOUT_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "PROBE_TABLE": table,
        "PROBE_GROUP": f"g-{uuid.uuid4().hex}",
        "PROBE_MAX_RECORDS": str(max_records),
    }
    argv = [sys.executable, "-m", "tests.shared.probe_consumer"]
    first = subprocess.Popen(argv, env=env, cwd=REPO)  # noqa: S603
    try:
        for _ in range(300):
            done = await pool.fetchval(f"SELECT count(*) FROM {table}")
            if done >= count // 3:
                break
            await asyncio.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert 0 < done < count, "the kill must land mid-stream"
        second = subprocess.Popen(argv, env=env, cwd=REPO)  # noqa: S603
        try:
            for _ in range(600):
                if await pool.fetchval(f"SELECT count(*) FROM {table}") == count:
                    break
                await asyncio.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, "graceful stop exits cleanly"
    finally:
        if first.poll() is None:
            first.kill()
    rows = await pool.fetchval(f"SELECT count(*) FROM {table}")
    redone = await pool.fetchval(f"SELECT coalesce(sum(attempts - 1), 0) FROM {table}")
    assert rows == count, "nothing lost"
    # at-least-once: only records of batches not yet committed at the kill are redone
    assert redone <= max_records
