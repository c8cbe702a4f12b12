"""Visible exclusions: every matched lead is sent to or excluded with its reason, exactly once.

On real Postgres and Kafka (and chDB for the reports): the resolver counts every lead
the condition matched, as the segment preview does, emits an `excluded` event for each
lead it leaves out, and keeps exact counters even when it dies between emitting a page
and advancing its checkpoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import msgspec
import orjson
import pytest

from services.campaign_api.segments import preview_segment
from services.lead_resolver import store
from services.lead_resolver.config import Settings as ResolverSettings
from services.lead_resolver.resolver import Resolver, Step
from services.report_sink import queries
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from services.sender import ledger
from services.sender.accounting import Accounting
from services.sender.outcomes import Outcome, outcome_events
from services.webhook_ingest.suppressions import Changes
from services.webhook_ingest.suppressions import apply as apply_webhook_changes
from shared.campaigns import State
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.conditions import parse_condition
from shared.contracts import EmailEvent, EventType
from shared.contracts.events import outcome_event_id
from shared.contracts.fast_sends import FastSendBatch
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.send_path import (
    MATCHING,
    Seeded,
    campaign,
    read_events,
    read_sends,
    seed_campaign,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

MakeResolver = Callable[..., Resolver]


@pytest.fixture
async def make_resolver(
    pool: asyncpg.Pool, settings: CommonSettings
) -> AsyncIterator[MakeResolver]:
    """`make_resolver(page_batches=N)`: a resolver on the test's topics; a new one is what a
    restarted process would be (its state is all in Postgres)."""
    producer = make_producer(settings)
    await producer.start()

    def make(**knobs: Any) -> Resolver:
        resolver_settings = ResolverSettings(common=settings, **knobs)
        sends = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
        return Resolver(resolver_settings, pool, producer, sends)

    yield make
    await producer.stop()


async def preview_count(pool: asyncpg.Pool, seeded: Seeded) -> int:
    """What campaign_api's segment preview says the campaign's condition matches."""
    at = datetime(2026, 11, 23, tzinfo=UTC)
    matched, _ = await preview_segment(pool, seeded.account_id, parse_condition(MATCHING), at, 1)
    return matched


def excluded_reasons(events: list[EmailEvent], seeded: Seeded) -> dict[UUID, str]:
    """Lead → reason of the campaign's `excluded` events; each lead has one event id."""
    mine = {
        (e.lead_id, e.event_id, e.reason) for e in events if e.campaign_id == seeded.campaign_id
    }
    assert all(e.type is EventType.EXCLUDED for e in events)
    assert len({lead for lead, _, _ in mine}) == len(mine)
    assert all(event_id == outcome_event_id(seeded.campaign_id, lead) for lead, event_id, _ in mine)
    return {lead: reason for lead, _, reason in mine}


async def resolve(resolver: Resolver, seeded: Seeded) -> None:
    """Step the campaign until the resolver has nothing more to do (it is `sending`)."""
    while await resolver.step(seeded.campaign_id) is not Step.DONE:
        pass


async def record_outcomes(pool: asyncpg.Pool, batches: list[FastSendBatch]) -> None:
    """What the sender records once each batch's recipients are sent (a batch number counts
    once however often it was emitted), then its completion check."""
    accounting = Accounting(pool)
    for batch in batches:
        sent = [Outcome(r, EventType.SENT) for r in batch.recipients]
        await ledger.record(pool, batch, sent, datetime.now(UTC))
        accounting.record(batch)
    await accounting.flush()


async def test_resolve_campaign_counts_every_matched_lead_and_excludes_with_reasons(
    pool: asyncpg.Pool, settings: CommonSettings, make_resolver: MakeResolver
) -> None:
    seeded = await seed_campaign(
        pool, matching=60, non_matching=4, suppressed=5, unsubscribed=4, invalid=3
    )
    await resolve(make_resolver(), seeded)
    row = await campaign(pool, seeded.campaign_id)
    assert row["state"] == State.SENDING
    assert row["matched"] == await preview_count(pool, seeded) == 72
    assert (row["enqueued"], row["excluded"]) == (60, 12)
    assert (
        row["excluded_suppressed"],
        row["excluded_unsubscribed"],
        row["excluded_invalid_email"],
        row["excluded_duplicate"],
    ) == (5, 4, 3, 0)
    batches = await read_sends(settings)
    assert {r.lead_id for b in batches for r in b.recipients} == seeded.matching
    assert excluded_reasons(await read_events(settings), seeded) == seeded.excluded
    await record_outcomes(pool, batches)
    done = await campaign(pool, seeded.campaign_id)
    assert done["state"] == State.COMPLETED
    assert done["matched"] == done["sent"] + done["excluded"]


class Crash(Exception):
    """The resolver process dying between emitting a page and advancing its checkpoint."""


async def test_resolve_campaign_counts_exclusions_once_after_a_crash_mid_page(
    pool: asyncpg.Pool,
    settings: CommonSettings,
    make_resolver: MakeResolver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeded = await seed_campaign(pool, matching=150, suppressed=30, unsubscribed=15, invalid=5)
    advance = store.advance
    pages = 0

    async def dies_after_the_second_page(*args: Any) -> bool:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise Crash  # the page is on Kafka, the checkpoint has not moved
        return await advance(*args)

    monkeypatch.setattr(store, "advance", dies_after_the_second_page)
    first = make_resolver(page_batches=2)  # pages of 100 matched leads
    with pytest.raises(Crash):
        await resolve(first, seeded)
    monkeypatch.setattr(store, "advance", advance)
    await resolve(make_resolver(page_batches=1), seeded)  # restarted, smaller pages

    row = await campaign(pool, seeded.campaign_id)
    assert row["matched"] == await preview_count(pool, seeded) == 200
    assert (row["enqueued"], row["excluded"]) == (150, 50)
    reasons = (row["excluded_suppressed"], row["excluded_unsubscribed"])
    assert reasons + (row["excluded_invalid_email"],) == (30, 15, 5)
    batches = await read_sends(settings)
    by_number: dict[int, set[bytes]] = {}
    for batch in batches:  # a batch emitted twice holds the same leads both times
        leads = {msgspec.json.encode(r) for r in batch.recipients}
        assert by_number.setdefault(batch.batch_no, leads) == leads
    assert len(batches) > len(by_number)  # the crashed page really was emitted twice
    events = await read_events(settings)
    assert len(events) > len({e.event_id for e in events})  # ... its exclusions too
    assert excluded_reasons(events, seeded) == seeded.excluded
    await record_outcomes(pool, batches)
    done = await campaign(pool, seeded.campaign_id)
    assert (done["state"], done["sent"], done["excluded"]) == (State.COMPLETED, 150, 50)


async def test_report_excluded_leads_with_their_reason(
    pool: asyncpg.Pool, settings: CommonSettings, make_resolver: MakeResolver, tmp_path: Path
) -> None:
    seeded = await seed_campaign(pool, matching=20, suppressed=3, unsubscribed=2, invalid=2)
    await resolve(make_resolver(), seeded)
    await record_outcomes(pool, await read_sends(settings))
    events = await read_events(settings) + await sent_events(settings, seeded)
    ch = AsyncClickHouse(connect_embedded(tmp_path / "chdb"))
    try:
        await migrate(ch)
        rows = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
        await EventWriter(ch).insert(rows, "excluded-report")
        listed = await queries.recipients(
            ch, seeded.account_id, seeded.campaign_id, "excluded", queries.NIL, 100
        )
        funnel = await queries.funnel(ch, seeded.account_id, seeded.campaign_id)
    finally:
        ch.close()
    assert {r.lead_id: r.reason for r in listed} == seeded.excluded
    row = await campaign(pool, seeded.campaign_id)
    assert funnel.excluded == row["excluded"] == 7
    assert (funnel.excluded_suppressed, funnel.excluded_unsubscribed) == (3, 2)
    assert funnel.excluded_invalid_email == 2
    assert funnel.sent + funnel.excluded == row["matched"] == await preview_count(pool, seeded)


async def sent_events(settings: CommonSettings, seeded: Seeded) -> list[EmailEvent]:
    """The `sent` outcomes the sender would emit for every emitted recipient."""
    batches = await read_sends(settings)
    outcomes = [Outcome(r, EventType.SENT) for b in batches for r in b.recipients]
    value = outcome_events(
        outcomes,
        account_id=seeded.account_id,
        campaign_id=seeded.campaign_id,
        provider="test",
        occurred_at=datetime.now(UTC),
    )
    return list(value.events)


async def test_resolve_campaign_leaves_a_late_unsubscribe_to_the_sender(
    pool: asyncpg.Pool, settings: CommonSettings, make_resolver: MakeResolver
) -> None:
    """An unsubscribe written after the launch, even one dated before it (providers report
    their own event time), does not change what the resolver decides for the lead: a page
    read before it and one read after it, following a crash, must agree."""
    seeded = await seed_campaign(pool, matching=5)
    lead = await pool.fetchrow(
        "SELECT id, email, account_id FROM leads WHERE id = $1", min(seeded.matching)
    )
    launched = (await campaign(pool, seeded.campaign_id))["launched_at"]
    unsubscribe = EmailEvent(
        event_id=uuid4(),
        account_id=lead["account_id"],
        campaign_id=uuid4(),  # an earlier campaign's email
        lead_id=lead["id"],
        email=lead["email"],
        type=EventType.UNSUBSCRIBED,
        provider="simulator",
        occurred_at=launched - timedelta(days=1),
    )
    async with pool.acquire() as conn, conn.transaction():
        await apply_webhook_changes(conn, Changes.of([unsubscribe]), threshold=3)
    await resolve(make_resolver(), seeded)
    row = await campaign(pool, seeded.campaign_id)
    assert (row["matched"], row["enqueued"], row["excluded"]) == (5, 5, 0)
    batches = [b for b in await read_sends(settings) if b.campaign_id == seeded.campaign_id]
    assert lead["id"] in {r.lead_id for b in batches for r in b.recipients}
    # passed on blocked, for the sender to screen out, with the snapshot the page was read in
    assert [b.blocked_leads for b in batches] == [[lead["id"]]]
    assert batches[0].resolved_xmin is not None and batches[0].resolved_xmin > 0
