"""`fanout bench sink` and `fanout bench decode`: report_sink's throughput, in isolation.

`sink` without --kafka: decode (fast path) + one JSONEachRow insert per --batch events
into a fresh chDB folder (decode of the next batch overlapping the insert), timed end to
end. With --kafka: N events published to fresh topics first (not timed), then a
SinkConsumer timed reading them from offset 0 into ClickHouse (poll + decode + insert +
commit). `decode`: decoding alone, the fast path against pydantic (best of 3).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.decode import event_rows, strict_rows
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts.base import decode, encode
from shared.contracts.events import EmailEvent, EventBatch, EventType
from shared.kafka.admin import delete_topics, ensure_topics
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, dead_letter_name, topic_name

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def messages(count: int, per_message: int) -> list[bytes]:
    """`count` events of one campaign as encoded `EventBatch` values."""
    account, campaign = uuid.uuid4(), uuid.uuid4()
    kinds = (EventType.SENT, EventType.DELIVERED, EventType.OPENED)
    out: list[bytes] = []
    for start in range(0, count, per_message):
        events = [
            EmailEvent(
                event_id=uuid.uuid4(),
                account_id=account,
                campaign_id=campaign,
                lead_id=uuid.uuid4(),
                email=f"lead{n}@d{n % 50}.example.com",
                type=kinds[n % 3],
                provider="simulator",
                provider_message_id=f"<{n}@fanout.local>",
                occurred_at=T0 + timedelta(milliseconds=n),
            )
            for n in range(start, min(start + per_message, count))
        ]
        out.append(encode(EventBatch(events=events)))
    return out


def run_sink(events: int, per_message: int, batch: int, through_kafka: bool) -> float:
    """Seconds to move `events` events into a fresh chDB folder (through Kafka if asked)."""
    values = messages(events, per_message)
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        if through_kafka:
            return asyncio.run(bench_kafka(values, Path(tmp), events))
        return asyncio.run(bench_insert(values, Path(tmp) / "chdb", batch))


async def bench_insert(values: list[bytes], folder: Path, batch: int) -> float:
    """Seconds to decode and insert every value, `batch` events per insert.

    Like the sink, batch k+1 is decoded while batch k is inserted (on the ClickHouse
    thread, which releases the GIL).
    """
    ch = AsyncClickHouse(connect_embedded(folder))
    await migrate(ch)
    writer = EventWriter(ch)
    started = time.perf_counter()
    inflight: asyncio.Task[None] | None = None
    chunks: list[bytes] = []
    pending = 0
    for value in values:
        rows = event_rows(value)
        chunks.append(rows.body)
        pending += rows.events
        if pending >= batch:
            if inflight is not None:
                await inflight
            inflight = asyncio.create_task(writer.insert(b"\n".join(chunks), uuid.uuid4().hex))
            chunks, pending = [], 0
            await asyncio.sleep(0)
    if inflight is not None:
        await inflight
    if chunks:
        await writer.insert(b"\n".join(chunks), uuid.uuid4().hex)
    elapsed = time.perf_counter() - started
    ch.close()
    return elapsed


async def bench_kafka(values: list[bytes], folder: Path, total: int) -> float:
    """Seconds for a SinkConsumer to move every published event into ClickHouse."""
    common = CommonSettings(home=folder, topic_prefix=f"bench{uuid.uuid4().hex[:6]}.")
    topic = topic_name(Topic.EMAIL_EVENTS, common.topic_prefix)
    await ensure_topics(common, [(topic, 12), (dead_letter_name(topic), 1)])
    producer = make_producer(common)
    await producer.start()
    for value in values:
        await producer.send(topic, value)
    await producer.flush()
    ch = AsyncClickHouse(connect_embedded(folder / "chdb"))
    await migrate(ch)
    sink = SinkConsumer(Settings(common=common, group_id="bench"), EventWriter(ch), producer)
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(stop))
    await sink.assigned.wait()  # group join and assignment are not throughput
    started = time.perf_counter()
    while sink.inserted_events < total:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    await producer.stop()
    ch.close()
    await delete_topics(common, [topic, dead_letter_name(topic)])
    return elapsed


def bench_decode(values: list[bytes], events: int) -> list[tuple[str, float]]:
    """Events/s of each way to decode the values (results discarded, best of 3)."""
    ways: list[tuple[str, Any]] = [
        ("fast path (event_rows)", event_rows),
        ("pydantic model_validate_json only", lambda v: decode(EventBatch, v)),
        ("pydantic + re-serialise (strict_rows)", strict_rows),
    ]
    results = []
    for name, way in ways:
        best = 0.0
        for _ in range(3):
            started = time.perf_counter()
            for value in values:
                way(value)
            best = max(best, events / (time.perf_counter() - started))
        results.append((name, best))
    return results
