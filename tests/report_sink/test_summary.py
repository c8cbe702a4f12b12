"""campaign_summary: the campaign list from it equals the exact numbers, for any events and
any window, redeliveries counted once; the sink keeps it current after a burst and a
restart leaves no campaign stale."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.report_sink import queries
from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from services.report_sink.summary import CampaignKey, CampaignSummaries
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts.events import EmailEvent, EventType
from tests.events import event
from tests.report_sink.conftest import RunningSink
from tests.report_sink.helpers import T0, batches, publish, store_migrated_before, wait_until

pytestmark = pytest.mark.clickhouse

EPOCH, FAR = datetime(1970, 1, 1, tzinfo=UTC), datetime(2106, 1, 1, tzinfo=UTC)
KINDS = [EventType(h) for h in queries.HEADLINES] + [EventType.FAILED, EventType.QUEUED]


async def _insert(ch: AsyncClickHouse, events: list[EmailEvent], token: str) -> None:
    body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
    await EventWriter(ch).insert(body, token)


def _expected(events: list[EmailEvent], since: datetime, until: datetime) -> dict[Any, Any]:
    """The list's numbers by campaign, computed from the events in Python."""
    start = since.replace(minute=0, second=0, microsecond=0)
    out: dict[Any, Any] = {}
    for e in events:
        hour = e.occurred_at.replace(minute=0, second=0, microsecond=0)
        if not start <= hour < until:
            continue
        empty: dict[str, set[Any]] = {"hours": set(), **{h: set() for h in queries.HEADLINES}}
        row = out.setdefault(e.campaign_id, empty)
        row["hours"].add(hour.replace(tzinfo=None))
        if e.type.value in queries.HEADLINES:
            row[e.type.value].add(e.lead_id)
    return {
        c: {"first_event_hour": min(r["hours"]), "last_event_hour": max(r["hours"]),
            **{h: len(r[h]) for h in queries.HEADLINES}}
        for c, r in out.items()
    }  # fmt: skip


def _by_campaign(rows: list[dict[str, Any]]) -> dict[Any, Any]:
    return {r["campaign_id"]: {k: v for k, v in r.items() if k != "campaign_id"} for r in rows}


event_specs = st.lists(
    st.tuples(
        st.integers(0, 2),  # campaign
        st.integers(0, 5),  # lead
        st.sampled_from(KINDS),
        st.integers(0, 6 * 60),  # minutes after T0: seven hours
    ),
    min_size=1,
    max_size=40,
)
bounds = st.none() | st.integers(-1, 7 * 3).map(lambda k: T0 + timedelta(minutes=20 * k))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=event_specs, replayed=st.integers(0, 40), since=bounds, until=bounds)
async def test_list_from_summary_equals_exact_numbers_in_any_window(
    ch: AsyncClickHouse,
    specs: list[tuple[int, int, EventType, int]],
    replayed: int,
    since: datetime | None,
    until: datetime | None,
) -> None:
    account = uuid.uuid4()  # each example an account of its own in the test's chDB folder
    campaigns = [uuid.uuid4() for _ in range(3)]
    leads = [uuid.uuid4() for _ in range(6)]
    events = [
        event(account, campaigns[c], leads[n], kind, T0 + timedelta(minutes=m))
        for c, n, kind, m in specs
    ]
    await _insert(ch, events, f"{account}-first")
    await _insert(ch, events[:replayed], f"{account}-replay")  # redelivered copies
    summaries = CampaignSummaries(ch, interval_s=1.0)
    await summaries.recompute(CampaignKey(account, c) for c in campaigns)
    window = (since or EPOCH, until or FAR)
    listed = await queries.campaigns(ch, account, *window, 100)
    exact = await queries.campaigns_exact(ch, account, *window, 100)
    assert listed == exact  # same rows, same order
    assert _by_campaign(listed) == _expected(events, *window)
    top = await queries.campaigns(ch, account, *window, 1)
    assert top == exact[:1]


async def test_migration_summarises_campaigns_stored_before_it(tmp_path: Path) -> None:
    async with store_migrated_before(tmp_path, "0006_campaign_summary.sql") as ch:
        account, campaign, lead = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        stored = [event(account, campaign, lead, k, T0) for k in (EventType.SENT, EventType.OPENED)]
        await _insert(ch, stored, "before")
        await migrate(ch)
        assert await CampaignSummaries(ch, 1.0).stale() == []  # nothing owed
        listed = await queries.campaigns(ch, account, EPOCH, FAR, 10)
        assert listed == await queries.campaigns_exact(ch, account, EPOCH, FAR, 10)
        assert (listed[0]["sent"], listed[0]["opened"]) == (1, 1)


def _burst(account: uuid.UUID, campaigns: list[uuid.UUID], leads: int) -> list[EmailEvent]:
    """Sends to `leads` leads per campaign, deliveries to half, opens to a fifth."""
    out = []
    for c in campaigns:
        for n in range(leads):
            lead = uuid.uuid5(c, str(n))
            out.append(event(account, c, lead, EventType.SENT, T0 + timedelta(seconds=n)))
            if n % 2 == 0:
                out.append(event(account, c, lead, EventType.DELIVERED, T0 + timedelta(hours=1)))
            if n % 5 == 0:
                out.append(event(account, c, lead, EventType.OPENED, T0 + timedelta(hours=2)))
    return out


@pytest.mark.kafka
async def test_sink_keeps_summary_current_after_burst_and_restart(
    sink_settings: Settings, producer: AIOKafkaProducer, chdb_path: Path
) -> None:
    settings = sink_settings.model_copy(update={"summary_interval_s": 0.3})
    writer = AsyncClickHouse(connect_embedded(chdb_path))
    summary_client = AsyncClickHouse(connect_embedded(chdb_path))
    await migrate(writer)
    account, campaigns = uuid.uuid4(), [uuid.uuid4() for _ in range(3)]
    burst = _burst(account, campaigns, leads=200)

    async def listed_is_exact(expected_sent: int) -> bool:
        listed = await queries.campaigns(writer, account, EPOCH, FAR, 10)
        exact = await queries.campaigns_exact(writer, account, EPOCH, FAR, 10)
        return listed == exact and sum(r["sent"] for r in listed) == expected_sent

    def start() -> tuple[RunningSink, CampaignSummaries]:
        summaries = CampaignSummaries(summary_client, settings.summary_interval_s)
        consumer = SinkConsumer(settings, EventWriter(writer), producer, summaries)
        return RunningSink(consumer), summaries

    try:
        running, summaries = start()
        messages = batches(burst, per_message=25)
        await publish(settings.common, messages)
        await publish(settings.common, messages[::3])  # replays: counted once
        await wait_until(lambda: listed_is_exact(600))
        assert summaries.recomputed >= 3
        await running.close()
        # a sink that inserted and died before recomputing: the rows are in, the list is not
        more = [event(account, campaigns[0], uuid.uuid4(), EventType.SENT, T0) for _ in range(7)]
        await _insert(writer, more, "inserted-before-a-crash")
        assert not await listed_is_exact(607)
        running, summaries = start()  # the next start recomputes what was owed
        await wait_until(lambda: listed_is_exact(607))
        await running.close()
    finally:
        writer.close()
        summary_client.close()
