"""The sink on the real broker and chDB: exactly-once counts, precedence, retries."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from clickhouse_connect.driver.client import Client

from services.report_sink import queries
from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts.events import EventBatch, EventType
from shared.kafka.admin import open_admin
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, dead_letter_name, topic_name
from tests.events import event
from tests.report_sink.conftest import RunningSink
from tests.report_sink.helpers import T0, batches, publish, sends, wait_until
from tests.shared.kafka_helpers import read_all

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse]

ACCOUNT = uuid.uuid4()
StartSink = Callable[[EventWriter], Awaitable[Any]]


async def _stored(ch: AsyncClickHouse, campaign: uuid.UUID) -> tuple[int, int]:
    """(rows, distinct event ids) of a campaign in email_events."""
    rows = await ch.rows(
        "SELECT count(), uniqExact(event_id) FROM email_events WHERE campaign_id = {c:UUID}",
        {"c": campaign},
    )
    return int(rows[0][0]), int(rows[0][1])


async def _inserted(running: Any, events: int) -> bool:
    return bool(running.consumer.inserted_events >= events)


async def _sent(ch: AsyncClickHouse, campaign: uuid.UUID) -> int:
    return (await queries.funnel(ch, ACCOUNT, campaign)).sent


async def test_consume_same_batch_twice_counts_once(
    ch: AsyncClickHouse, settings: CommonSettings, start_sink: StartSink
) -> None:
    campaign = uuid.uuid4()
    messages = batches(sends(ACCOUNT, campaign, 500), per_message=50)
    running = await start_sink(EventWriter(ch))
    await publish(settings, messages)
    await wait_until(lambda: _inserted(running, 500))
    await publish(settings, messages)  # a redelivery of the same events: a second insert
    await wait_until(lambda: _inserted(running, 1000))
    assert (await _stored(ch, campaign))[0] == 1000  # both copies stored...
    assert await _sent(ch, campaign) == 500  # ...and counted once
    recipients = await queries.recipients(ch, ACCOUNT, campaign, "", queries.NIL, 1000)
    assert len(recipients) == 500
    await ch.command("OPTIMIZE TABLE email_events FINAL")
    assert await _stored(ch, campaign) == (500, 500)


async def test_consume_batch_recut_with_overlap_counts_once(
    ch: AsyncClickHouse, settings: CommonSettings, start_sink: StartSink
) -> None:
    campaign = uuid.uuid4()
    events = sends(ACCOUNT, campaign, 300)
    running = await start_sink(EventWriter(ch))
    await publish(settings, batches(events[:200], per_message=40))
    await wait_until(lambda: _inserted(running, 200))
    await publish(settings, batches(events[100:], per_message=7))  # overlaps 100..199
    await wait_until(lambda: _inserted(running, 400))
    assert await _sent(ch, campaign) == 300
    assert (await _stored(ch, campaign))[1] == 300


async def test_resolve_out_of_order_statuses_by_precedence(
    ch: AsyncClickHouse, settings: CommonSettings, start_sink: StartSink
) -> None:
    campaign = uuid.uuid4()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def ev(lead: uuid.UUID, kind: EventType, seconds: int, **kw: Any) -> EventBatch:
        return EventBatch(
            events=[event(ACCOUNT, campaign, lead, kind, T0 + timedelta(seconds=seconds), **kw)]
        )

    messages = [
        # a: the open arrives before the delivery and the send; latest status: opened
        ev(a, EventType.OPENED, 30),
        ev(a, EventType.DELIVERED, 10),
        ev(a, EventType.SENT, 0),
        # b: a bounce arrives after an open that happened later; bounced outranks opened
        ev(b, EventType.SENT, 0),
        ev(b, EventType.OPENED, 50),
        ev(b, EventType.BOUNCED, 20, bounce_type="soft", reason="mailbox full"),
        # c: complained outranks unsubscribed, whatever the times
        ev(c, EventType.COMPLAINED, 5),
        ev(c, EventType.UNSUBSCRIBED, 90),
        ev(c, EventType.DELIVERED, 3),
    ]
    running = await start_sink(EventWriter(ch))
    await publish(settings, messages[:4])
    await wait_until(lambda: _inserted(running, 4))
    await publish(settings, messages[4:])  # a later insert: the views see it separately
    await wait_until(lambda: _inserted(running, len(messages)))
    rows = await queries.recipients(ch, ACCOUNT, campaign, "", queries.NIL, 10)
    status = {r.lead_id: (r.status, r.bounce_type) for r in rows}
    assert status == {
        a: ("opened", None),
        b: ("bounced", "soft"),
        c: ("complained", None),
    }
    bounced = await queries.recipients(ch, ACCOUNT, campaign, "bounced", queries.NIL, 10)
    assert [r.lead_id for r in bounced] == [b]
    assert await queries.recipients(ch, ACCOUNT, campaign, "delivered", queries.NIL, 10) == []


class FailingWriter(EventWriter):
    """Refuses the first `failures` inserts, as a ClickHouse outage would."""

    def __init__(self, ch: AsyncClickHouse, failures: int) -> None:
        super().__init__(ch)
        self.failures = failures
        self.attempts = 0

    async def insert(self, body: bytes, token: str) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("ClickHouse unavailable (test)")
        await super().insert(body, token)


async def test_retry_insert_while_clickhouse_fails(
    ch: AsyncClickHouse, settings: CommonSettings, start_sink: StartSink
) -> None:
    campaign = uuid.uuid4()
    writer = FailingWriter(ch, failures=3)
    await start_sink(writer)
    await publish(settings, batches(sends(ACCOUNT, campaign, 200), per_message=20))

    async def stored() -> bool:
        return await _sent(ch, campaign) == 200

    await wait_until(stored)
    assert writer.attempts >= 4
    assert (await _stored(ch, campaign))[1] == 200


async def test_retry_insert_while_table_detached(
    ch: AsyncClickHouse, settings: CommonSettings, start_sink: StartSink
) -> None:
    campaign = uuid.uuid4()
    await ch.command("DETACH TABLE email_events")
    running = await start_sink(EventWriter(ch))
    await publish(settings, batches(sends(ACCOUNT, campaign, 100), per_message=10))
    await wait_until(lambda: _has_retried(running), timeout=20)
    await ch.command("ATTACH TABLE email_events")

    async def stored() -> bool:
        return await _sent(ch, campaign) == 100

    await wait_until(stored)
    assert (await _stored(ch, campaign))[1] == 100


async def _has_retried(running: Any) -> bool:
    from shared import metrics

    value = metrics.HANDLER_RETRIES.labels(running.consumer.group)._value.get()
    return bool(value >= 2)


async def test_dead_letter_invalid_event_and_store_the_rest(
    ch: AsyncClickHouse, settings: CommonSettings, start_sink: StartSink
) -> None:
    campaign = uuid.uuid4()
    good = batches(sends(ACCOUNT, campaign, 10), per_message=5)
    extra = sends(ACCOUNT, campaign, 3, start=10)
    # passes the cheap checks, refused by ClickHouse: found by the strict re-check
    bad_uuid = extra[0].model_dump(mode="json") | {
        "event_id": "z" * 8 + "-zzzz-zzzz-zzzz-" + "z" * 12
    }
    poisoned = orjson.dumps({"schema_version": 1, "events": [bad_uuid]})
    # bytes and parse disagree (duplicate key): valid, stored as parsed (the last wins)
    first, last = (e.model_dump_json() for e in extra[:2])
    # RFC 3339 with a lower-case t and z: the contract's, ClickHouse refuses it; the strict
    # re-check re-serialises it and it is stored
    lower = extra[2].model_dump(mode="json")
    lower["occurred_at"] = lower["occurred_at"].replace("T", "t").replace("Z", "z")
    assert "t" in lower["occurred_at"] and lower["occurred_at"].endswith("z")
    twice = f'{{"schema_version":1,"events":[{first}],"events":[{last}]}}'
    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"schema_version": 1, "events": [{"type": "sent"}]}')
        await producer.send_and_wait(topic, b"not json")
        await producer.send_and_wait(topic, poisoned)
        await producer.send_and_wait(topic, twice.encode())
        await producer.send_and_wait(topic, orjson.dumps({"schema_version": 1, "events": [lower]}))
    finally:
        await producer.stop()
    await start_sink(EventWriter(ch))
    await publish(settings, good)

    async def stored() -> bool:
        return await _sent(ch, campaign) == 12

    await wait_until(stored)
    letters = await read_all(settings, dead_letter_name(topic), expected=3)
    assert len(letters) == 3
    assert any(b"zzzz" in letter for letter in letters)
    ids = await ch.rows(
        "SELECT DISTINCT event_id FROM email_events WHERE campaign_id = {c:UUID}", {"c": campaign}
    )
    assert {extra[1].event_id, extra[2].event_id} <= {r[0] for r in ids}
    assert extra[0].event_id not in {r[0] for r in ids}


@dataclass
class _Overlap:
    """How many inserts run now, and the most that ran at once."""

    running: int = 0
    most_at_once: int = 0
    calls: int = 0


class _TimedInserts(AsyncClickHouse):
    """A client on the same engine that notes in `overlap` how many of the writer's inserts
    run at once (each held a little, so a backlog's inserts can overlap)."""

    def __init__(self, client: Client, overlap: _Overlap) -> None:
        super().__init__(client)
        self.overlap = overlap

    async def raw_insert(self, *args: Any, **kwargs: Any) -> None:
        overlap = self.overlap
        overlap.running += 1
        overlap.calls += 1
        overlap.most_at_once = max(overlap.most_at_once, overlap.running)
        try:
            await asyncio.sleep(0.05)
            await super().raw_insert(*args, **kwargs)
        finally:
            overlap.running -= 1


async def test_a_backlog_is_inserted_two_at_a_time_every_event_once_and_all_committed(
    ch: AsyncClickHouse,
    chdb_path: Path,
    settings: CommonSettings,
    sink_settings: Settings,
    producer: AIOKafkaProducer,
) -> None:
    campaign = uuid.uuid4()
    await publish(settings, batches(sends(ACCOUNT, campaign, 2_000), per_message=50))
    # a backlog before the sink starts; batches of 200 events, so ten or so inserts
    tuned = sink_settings.model_copy(update={"batch_max_events": 200})
    overlap = _Overlap()
    clients = [_TimedInserts(connect_embedded(chdb_path), overlap) for _ in range(2)]
    running = RunningSink(SinkConsumer(tuned, EventWriter(*clients), producer))
    try:
        await wait_until(lambda: _inserted(running, 2_000))
    finally:
        await running.close()
        for client in clients:
            client.close()
    assert overlap.most_at_once == 2, "two inserts at once, never more"
    assert overlap.calls >= 10
    assert await _sent(ch, campaign) == 2_000
    assert await _stored(ch, campaign) == (2_000, 2_000)
    async with open_admin(settings) as admin:
        committed = await admin.list_consumer_group_offsets(tuned.consumer_group)
    assert sum(meta.offset for meta in committed.values()) == 2_000 // 50, "all committed"


def test_group_is_prefixed_like_the_topics(settings: CommonSettings) -> None:
    """Two deployments sharing a broker under different prefixes never share the sink's group."""
    ours = Settings(common=settings.model_copy(update={"topic_prefix": "blue."}))
    theirs = Settings(common=settings.model_copy(update={"topic_prefix": "green."}))
    assert ours.consumer_group == "blue.report_sink"
    assert theirs.consumer_group != ours.consumer_group
