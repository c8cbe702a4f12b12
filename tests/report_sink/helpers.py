"""Helpers of the report_sink tests: events, accounts and campaigns, publishing, waiting."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg

from services.report_sink.schema import MIGRATIONS_DIR, migrate
from services.report_sink.summary import CampaignSummaries
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.contracts.base import encode
from shared.contracts.events import EmailEvent, EventBatch, EventType
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests import factories
from tests.events import event

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Tenant:
    """An account with its API key, a campaign and some leads (all in Postgres)."""

    account_id: UUID
    api_key: str
    campaign_id: UUID
    lead_ids: tuple[UUID, ...]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def make_tenant(pool: asyncpg.Pool, leads: int = 0, matched: int | None = None) -> Tenant:
    """A fresh account, key, template, campaign and `leads` leads (`tests.factories`)."""
    account = await factories.account(pool, f"reports-{uuid.uuid4().hex[:6]}")
    campaign_id = await factories.campaign(pool, account.id, name="November")
    # `matched` is the lead resolver's count; report_sink only reads it, so it is set here
    await pool.execute("UPDATE campaigns SET matched = $2 WHERE id = $1", campaign_id, matched)
    lead_ids = [
        await factories.lead(pool, account.id, f"lead{n}@d{n % 3}.example.com")
        for n in range(leads)
    ]
    return Tenant(account.id, account.key, campaign_id, tuple(lead_ids))


@asynccontextmanager
async def store_migrated_before(tmp_path: Path, migration: str) -> AsyncIterator[AsyncClickHouse]:
    """A chDB store in `tmp_path` with only the migrations before `migration` (its file
    name) applied, as a store of an older release; closed afterwards."""
    older = tmp_path / "older"
    older.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < migration:
            shutil.copy(path, older / path.name)
    ch = AsyncClickHouse(connect_embedded(tmp_path / "chdb"))
    try:
        await migrate(ch, older)
        yield ch
    finally:
        ch.close()


def sends(account: UUID, campaign: UUID, count: int, start: int = 0) -> list[EmailEvent]:
    """`count` deterministic `sent` events, one per synthetic lead, a second apart."""
    return [
        event(
            account,
            campaign,
            uuid.uuid5(campaign, f"lead-{n}"),
            EventType.SENT,
            T0 + timedelta(seconds=n % 600),
            email=f"lead{n}@d{n % 5}.example.com",
            key=str(n),
        )
        for n in range(start, start + count)
    ]


def batches(events: Sequence[EmailEvent], per_message: int) -> list[EventBatch]:
    """Cut events into messages of `per_message` events."""
    return [
        EventBatch(events=list(events[i : i + per_message]))
        for i in range(0, len(events), per_message)
    ]


async def publish(common: CommonSettings, messages: Sequence[EventBatch]) -> None:
    """Publish to the test's `email.events` and wait for every acknowledgement."""
    producer = make_producer(common)
    await producer.start()
    try:
        topic = topic_name(Topic.EMAIL_EVENTS, common.topic_prefix)
        futures = [await producer.send(topic, encode(m), key=m.key()) for m in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float = 30.0, every: float = 0.2
) -> None:
    """Poll `check` until it is true; fail the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(every)


async def summarise(ch: AsyncClickHouse) -> None:
    """What the sink's summary worker does after inserts, at once: every campaign touched
    since its last recompute recomputed (the campaign list reads them)."""
    summaries = CampaignSummaries(ch, interval_s=1.0)
    await summaries.recompute(await summaries.stale())
