"""A runner keeps consuming, and its work keeps producing, across broker restarts.

A private single-node broker (its own ports and data) is stopped with SIGTERM
and with SIGKILL mid-stream, kept down 6 s and started again, four times in
one test: the hang seen in the fault suite showed in about one restart in four.
The runner works like the sender: up to 32 records in flight, each one
"calls out" and then publishes its result with the producer, retrying until
Kafka acknowledges it. After every restart it must make progress again; at the
end every record fed in must have been worked on and published.

The work's producer waits at most 5 s for a record (the outbox relay's waits
10 s): the broker stays down longer than that, so records that waited through
the outage are expired by aiokafka if the restarting broker briefly reports no
leader, which is the window in which an idempotent producer used to lose its
sequence for good.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
import structlog
from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from fanout_cli.stack.kafka import KafkaBroker
from shared import metrics
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import Producer, open_producer
from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategies.concurrent import Concurrent
from shared.kafka.strategy import KafkaRecord
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.timeout(1200)]

SOURCE, RESULTS = "restart.source", "restart.results"
RESTARTS = (signal.SIGTERM, signal.SIGKILL, signal.SIGTERM, signal.SIGKILL)
WAIT_MS = 5_000  # the work producer's longest wait for a record
DOWN_S = WAIT_MS / 1000 + 1  # longer than that wait
RECOVERY_S = 180.0  # far beyond a healthy recovery (seconds); only a hang exceeds it
PROGRESS = 200  # records worked on after a restart that count as "consuming again"


async def published(producer: Producer, topic: str, key: bytes) -> None:
    """Publish until Kafka acknowledges (the retry every caller of the producer makes)."""
    async for attempt in AsyncRetrying(
        wait=wait_exponential_jitter(max=5), retry=retry_if_exception_type((KafkaError, OSError))
    ):
        with attempt:
            await producer.send_and_wait(topic, key, key=key)


class Relay:
    """The runner's work: a short call out, then the result published."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self.done: set[bytes] = set()

    async def __call__(self, record: KafkaRecord) -> None:
        assert record.key is not None
        await asyncio.sleep(0.05)
        await published(self._producer, RESULTS, record.key)
        self.done.add(record.key)


async def feed(producer: Producer, fed: set[bytes], stop: asyncio.Event) -> None:
    """Put numbered records on the source, 20 at a time, each retried until acknowledged."""
    n = 0
    while not stop.is_set():
        keys = [str(n + i).encode() for i in range(20)]
        await asyncio.gather(*(published(producer, SOURCE, k) for k in keys))
        fed.update(keys)
        n += len(keys)
        await asyncio.sleep(0.05)


async def progressed(relay: Relay, at_least: int, what: str) -> None:
    deadline = time.monotonic() + RECOVERY_S
    while len(relay.done) < at_least:
        assert time.monotonic() < deadline, f"no progress {what}: {len(relay.done)} done"
        await asyncio.sleep(0.5)


def restart(broker: KafkaBroker, sig: signal.Signals) -> None:
    """Stop the broker with `sig`, keep it down `DOWN_S`, start it again."""
    pid = broker.process.pid()
    assert pid is not None, "the private broker is not running"
    os.killpg(pid, sig)
    while broker.process.pid() is not None:
        time.sleep(0.1)
    time.sleep(DOWN_S)
    broker.start([])
    broker.wait_ready(120)


async def test_runner_keeps_consuming_across_broker_restarts(
    broker: KafkaBroker, base_settings: CommonSettings
) -> None:
    common = base_settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap})
    await ensure_topics(common, [(SOURCE, 12), (RESULTS, 12)])
    stop, stop_feeding = asyncio.Event(), asyncio.Event()
    fed: set[bytes] = set()
    async with (
        open_producer(common) as feeder,
        open_producer(common, request_timeout_ms=WAIT_MS) as producer,
    ):
        relay = Relay(producer)
        runner = Runner(
            common=common,
            group="restarts",
            topics=[SOURCE],
            strategy=lambda ctx: Concurrent(ctx, work=relay, max_in_flight=32),
            producer=producer,
            options=RunnerOptions(stall_after_s=60.0),
        )
        consuming = asyncio.create_task(runner.run(stop))
        feeding = asyncio.create_task(feed(feeder, fed, stop_feeding))
        try:
            await progressed(relay, PROGRESS, "before the first restart")
            for sig in RESTARTS:
                await asyncio.to_thread(restart, broker, sig)
                await progressed(relay, len(relay.done) + PROGRESS, f"after {sig.name}")
            stop_feeding.set()
            await feeding
            await progressed(relay, len(fed), "finishing what was fed")
        finally:
            stop.set()
            stop_feeding.set()
            await asyncio.wait_for(consuming, 60)
            feeding.cancel()
    assert fed <= relay.done
    log.info(
        "restarts.survived",
        records=len(fed),
        producer_sessions_renewed=metrics.PRODUCER_SESSION_RESETS._value.get(),
        consumers_rebuilt=metrics.CONSUMER_REBUILDS.labels("restarts")._value.get(),
    )
