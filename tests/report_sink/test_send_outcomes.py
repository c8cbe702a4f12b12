"""One terminal send outcome per lead in every report, an accepted send winning any conflict."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from services.report_sink import queries
from services.report_sink.precedence import OUTCOME_PRECEDENCE
from services.report_sink.schema import MIGRATIONS_DIR, migrate
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse
from shared.contracts.events import EmailEvent, EventType, outcome_event_id
from tests.report_sink.helpers import T0, store_migrated_before

pytestmark = pytest.mark.clickhouse

ACCOUNT = uuid.uuid4()


def outcome(campaign: uuid.UUID, lead: uuid.UUID, kind: EventType, second: int) -> EmailEvent:
    """A send outcome as the sender emits it: one event id per (campaign, lead)."""
    return EmailEvent(
        event_id=outcome_event_id(campaign, lead),
        account_id=ACCOUNT,
        campaign_id=campaign,
        lead_id=lead,
        email=f"{lead.hex[:8]}@example.com",
        type=kind,
        provider="simulator",
        provider_message_id="sim-1" if kind is EventType.SENT else "",
        reason="" if kind is EventType.SENT else f"{kind.value} (test)",
        occurred_at=T0 + timedelta(seconds=second),
    )


async def insert(ch: AsyncClickHouse, events: list[EmailEvent], token: str) -> None:
    body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
    await EventWriter(ch).insert(body, token)


async def test_conflicting_outcomes_resolve_to_the_accepted_send(ch: AsyncClickHouse) -> None:
    campaign = uuid.uuid4()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = [
        outcome(campaign, a, EventType.SENT, 1),
        outcome(campaign, b, EventType.FAILED, 2),
        outcome(campaign, c, EventType.CANCELLED, 3),
    ]
    # after a crash: a replay recorded `a` suppressed (its own bounce had suppressed it)
    # and `b` sent (a later try got through); both inserted after the first outcomes
    later = [
        outcome(campaign, a, EventType.SUPPRESSED, 40),
        outcome(campaign, b, EventType.SENT, 50),
    ]
    await insert(ch, first, "one")
    await insert(ch, later, "two")
    await insert(ch, later, "three")  # redelivered

    for merged in (False, True):
        for leads in (None, 3, queries.GROUPED_MAX_LEADS + 1):  # FINAL, grouped, FINAL
            counts = await queries.funnel(ch, ACCOUNT, campaign, leads)
            terminal = (counts.sent, counts.failed, counts.suppressed, counts.cancelled)
            assert terminal == (2, 0, 0, 1), f"merged={merged}, leads={leads}"
        rows = await queries.recipients(ch, ACCOUNT, campaign, "", queries.NIL, 10)
        assert {r.lead_id: r.status for r in rows} == {a: "sent", b: "sent", c: "cancelled"}
        history = await queries.lead_history(ch, ACCOUNT, a, 10)
        assert [(e.type, e.provider_message_id) for e in history] == [("sent", "sim-1")]
        minutes = await queries.timeline(ch, ACCOUNT, campaign)
        assert sum(m.sent for m in minutes) == 2 and sum(m.failed for m in minutes) == 0
        for table in ("email_events", "lead_status", "send_outcomes", "campaign_hourly"):
            await ch.command(f"OPTIMIZE TABLE {table} FINAL")


async def test_migration_backfills_outcomes_stored_before_it(tmp_path: Path) -> None:
    async with store_migrated_before(tmp_path, "0005_send_outcomes.sql") as ch:
        campaign, lead = uuid.uuid4(), uuid.uuid4()
        await insert(ch, [outcome(campaign, lead, EventType.SENT, 1)], "before")
        await migrate(ch)
        counts = await queries.funnel(ch, ACCOUNT, campaign)
        assert (counts.sent, counts.failed) == (1, 0)


def test_outcome_precedence_matches_send_outcomes_view() -> None:
    sql = (MIGRATIONS_DIR / "0005_send_outcomes.sql").read_text()
    view = sql.split("CREATE MATERIALIZED VIEW", 1)[1]
    types = re.search(r"transform\(type, \[(.*?)\]", view, re.DOTALL)
    assert types is not None
    assert re.findall(r"'(\w+)'", types.group(1)) == [t.value for t in OUTCOME_PRECEDENCE]


def test_only_campaigns_known_to_be_small_are_read_grouped() -> None:
    """Grouping by lead holds a hash of the campaign's leads; FINAL streams."""
    assert queries.grouped(0) and queries.grouped(queries.GROUPED_MAX_LEADS)
    assert not queries.grouped(queries.GROUPED_MAX_LEADS + 1)
    assert not queries.grouped(None)  # not resolved yet: its size is unknown
