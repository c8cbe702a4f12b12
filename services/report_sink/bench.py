"""Throughput of the sink and speed of the report queries.

`python -m services.report_sink.bench [--events N] [--per-message K] [--kafka]`:
without --kafka, decode (fast path) + one JSONEachRow insert per 50k events into a fresh
chDB folder (decode of the next batch overlapping the insert), timed end to end; with
--kafka, publishes N events to fresh topics first (not timed), then times a SinkConsumer
reading them from offset 0 into ClickHouse (poll + decode + insert + commit). Prints
events/s.

`python -m services.report_sink.bench --decode [--per-message K]`: decoding alone, the
fast path against pydantic (events/s, best of 3).

`python -m services.report_sink.bench --queries N`: N leads of one campaign (about 2.4
events each, generated inside ClickHouse), then times every report query.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.decode import event_rows
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts.base import encode
from shared.contracts.events import EmailEvent, EventBatch, EventType
from shared.kafka.admin import ensure_topics
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
    admin = AIOKafkaAdminClient(bootstrap_servers=common.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics([topic, dead_letter_name(topic)])
    finally:
        await admin.close()
    return elapsed


GENERATE_SQL = """
INSERT INTO email_events (event_id, account_id, campaign_id, lead_id, email, type, provider,
                          provider_message_id, reason, bounce_type, occurred_at)
SELECT generateUUIDv4(), {account:UUID}, {campaign:UUID}, lead,
       concat('lead', toString(n), '@d', toString(n % 100), '.example.com'), t, 'simulator',
       '', if(t = 'bounced', '550 5.1.1 user unknown', ''), if(t = 'bounced', 'hard', ''),
       toDateTime64('2026-11-23 00:00:00', 3, 'UTC') + toIntervalMillisecond(n * 10)
FROM (
    SELECT number AS n,
           reinterpretAsUUID(reinterpretAsFixedString(cityHash64(number, 1))
                             || reinterpretAsFixedString(cityHash64(number, 2))) AS lead,
           arrayFilter(x -> x != '', ['sent', if(n % 20 = 0, 'bounced', 'delivered'),
                       if(n % 10 < 3 AND n % 20 != 0, 'opened', ''),
                       if(n % 100 < 8 AND n % 20 != 0, 'clicked', '')]) AS types
    FROM numbers({leads:UInt64})
)
ARRAY JOIN types AS t
"""


async def bench_queries(folder: Path, leads: int) -> list[tuple[str, float]]:
    """Seconds of each report query on a campaign of `leads` leads."""
    from services.report_sink import queries

    ch = AsyncClickHouse(connect_embedded(folder))
    await migrate(ch)
    account, campaign = uuid.uuid4(), uuid.uuid4()
    started = time.perf_counter()
    await ch.command(GENERATE_SQL, {"account": account, "campaign": campaign, "leads": leads})
    timings = [("generate + views", time.perf_counter() - started)]

    async def timed(name: str, run: Any) -> None:
        t = time.perf_counter()
        await run
        timings.append((name, time.perf_counter() - t))

    mid = (await queries.recipients(ch, account, campaign, "", queries.NIL, leads // 2))[-1]
    await timed("funnel", queries.funnel(ch, account, campaign))
    await timed(
        "recipients page 1", queries.recipients(ch, account, campaign, "", queries.NIL, 100)
    )
    await timed(
        "recipients mid page", queries.recipients(ch, account, campaign, "", mid.lead_id, 100)
    )
    await timed(
        "recipients bounced", queries.recipients(ch, account, campaign, "bounced", queries.NIL, 100)
    )
    await timed("bounces", queries.bounces(ch, account, campaign))
    await timed("timeline", queries.timeline(ch, account, campaign))
    await timed(
        "campaigns",
        queries.campaigns(ch, account, T0 - timedelta(days=1), T0 + timedelta(days=9), 100),
    )
    await timed("lead history", queries.lead_history(ch, account, mid.lead_id, 100))

    async def export() -> None:
        async for _ in queries.recipients_csv(ch, account, campaign, ""):
            pass

    await timed("all recipients (CSV chunks)", export())
    ch.close()
    return timings


def bench_decode(values: list[bytes], events: int) -> list[tuple[str, float]]:
    """Events/s of each way to decode the values (results discarded, best of 3)."""
    from services.report_sink.decode import strict_rows
    from shared.contracts.base import decode

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--per-message", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--kafka", action="store_true")
    parser.add_argument("--queries", type=int, default=0, help="Leads for the query bench.")
    parser.add_argument("--decode", action="store_true", help="Decoding alone.")
    args = parser.parse_args()
    if args.decode:
        values = messages(args.events, args.per_message)
        for name, rate in bench_decode(values, args.events):
            print(f"{args.per_message}/message {name:40} {rate:12,.0f} events/s")  # noqa: T201
        return
    if args.queries:
        with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
            for name, seconds in asyncio.run(bench_queries(Path(tmp) / "chdb", args.queries)):
                print(f"{name:30} {seconds * 1000:9.1f} ms")  # noqa: T201
        return
    values = messages(args.events, args.per_message)
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        if args.kafka:
            seconds = asyncio.run(bench_kafka(values, Path(tmp), args.events))
        else:
            seconds = asyncio.run(bench_insert(values, Path(tmp) / "chdb", args.batch))
    mode = "kafka → sink → chDB" if args.kafka else "decode + insert into chDB"
    print(f"{mode}: {args.events} events, {args.per_message}/message in {seconds:.2f} s = "  # noqa: T201
          f"{args.events / seconds:,.0f} events/s")  # fmt: skip


if __name__ == "__main__":
    main()
