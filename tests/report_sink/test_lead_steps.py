"""lead_steps: each event type sets the bit `steps.py` names for it; counting bits gives the
distinct leads per funnel step for any events, split over inserts, redelivered, with
parts not merged yet; events stored before the migration are counted too."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.report_sink import queries
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from services.report_sink.steps import STEP_BITS
from shared.clickhouse import AsyncClickHouse
from shared.contracts.events import EmailEvent, EventType
from tests.events import event
from tests.report_sink.helpers import T0, store_migrated_before

pytestmark = pytest.mark.clickhouse

STEPS_SQL = """
SELECT lead_id, steps FROM lead_steps FINAL
WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID}
"""
BOUNCE_TYPES = [None, "hard", "soft"]


async def _insert(ch: AsyncClickHouse, events: list[EmailEvent], token: str) -> None:
    body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
    await EventWriter(ch).insert(body, token)


def _expected_steps(events: list[EmailEvent]) -> dict[str, int]:
    """Distinct leads per funnel step, computed from the events in Python."""
    leads: dict[str, set[UUID]] = {step: set() for step in STEP_BITS}
    for e in events:
        if e.type is EventType.QUEUED:
            continue
        leads[e.type.value].add(e.lead_id)
        if e.type is EventType.BOUNCED and e.bounce_type in ("hard", "soft"):
            leads[f"bounced_{e.bounce_type}"].add(e.lead_id)
    return {step: len(ids) for step, ids in leads.items()}


async def test_each_event_type_sets_the_bit_steps_py_names(ch: AsyncClickHouse) -> None:
    account, campaign = uuid.uuid4(), uuid.uuid4()
    expected: dict[UUID, int] = {}
    events = []
    for kind in EventType:
        for bounce_type in BOUNCE_TYPES if kind is EventType.BOUNCED else [None]:
            lead = uuid.uuid4()
            events.append(event(account, campaign, lead, kind, T0, bounce_type=bounce_type))
            bits = 0 if kind is EventType.QUEUED else STEP_BITS[kind.value]
            if bounce_type:
                bits |= STEP_BITS[f"bounced_{bounce_type}"]
            expected[lead] = bits
    await _insert(ch, events, "one-of-each")
    rows = dict(await ch.rows(STEPS_SQL, {"account": account, "campaign": campaign}))
    queued_only = {lead for lead, bits in expected.items() if bits == 0}
    assert rows == {lead: bits for lead, bits in expected.items() if lead not in queued_only}
    assert len(rows) == len(EventType) + 1  # a row per lead but the queued one


async def test_a_leads_bits_are_or_ed_across_inserts(ch: AsyncClickHouse) -> None:
    account, campaign, lead = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    kinds = [EventType.SENT, EventType.DELIVERED, EventType.OPENED, EventType.OPENED]
    for n, kind in enumerate(kinds):  # four inserts: four parts until they merge
        at = T0 + timedelta(minutes=n)
        await _insert(ch, [event(account, campaign, lead, kind, at)], f"part-{n}")
    rows = await ch.rows(STEPS_SQL, {"account": account, "campaign": campaign})
    assert rows == [(lead, STEP_BITS["sent"] | STEP_BITS["delivered"] | STEP_BITS["opened"])]


event_specs = st.lists(
    st.tuples(
        st.integers(0, 7),  # lead
        st.sampled_from(list(EventType)),
        st.sampled_from(BOUNCE_TYPES),
        st.integers(0, 3),  # which insert
    ),
    min_size=1,
    max_size=50,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=event_specs, replayed=st.integers(0, 50))
async def test_funnel_counts_distinct_leads_per_step(
    ch: AsyncClickHouse, specs: list[tuple[int, EventType, str | None, int]], replayed: int
) -> None:
    account, campaign = uuid.uuid4(), uuid.uuid4()  # each example its own campaign
    other = uuid.uuid4()  # a second campaign of the account, never counted in the first
    leads = [uuid.uuid4() for _ in range(8)]
    events: list[list[EmailEvent]] = [[] for _ in range(4)]
    for n, (lead, kind, bounce_type, part) in enumerate(specs):
        bounce = bounce_type if kind is EventType.BOUNCED else None
        at = T0 + timedelta(minutes=n)
        events[part].append(event(account, campaign, leads[lead], kind, at, bounce_type=bounce))
        events[part].append(event(account, other, leads[lead], EventType.CLICKED, at))
    for part, batch in enumerate(events):
        if batch:
            await _insert(ch, batch, f"{campaign}-{part}")
    every = [e for batch in events for e in batch]
    await _insert(ch, every[:replayed], f"{campaign}-replay")  # redelivered copies
    expected = _expected_steps([e for e in every if e.campaign_id == campaign])
    for sql in (queries.FUNNEL_SQL, queries.FUNNEL_FINAL_SQL):  # grouped, and FINAL
        assert (await ch.dicts(sql, {"account": account, "campaign": campaign}))[0] == expected


async def test_migration_counts_events_stored_before_it(tmp_path: Path) -> None:
    async with store_migrated_before(tmp_path, "0007_lead_steps.sql") as ch:
        account, campaign = uuid.uuid4(), uuid.uuid4()
        a, b = uuid.uuid4(), uuid.uuid4()
        stored = [
            event(account, campaign, a, EventType.SENT, T0),
            event(account, campaign, a, EventType.BOUNCED, T0, bounce_type="hard"),
            event(account, campaign, b, EventType.SENT, T0),
            event(account, campaign, b, EventType.DELIVERED, T0),
            event(account, campaign, b, EventType.OPENED, T0),
        ]
        await _insert(ch, stored, "before")
        assert await migrate(ch) == [7]
        funnel: dict[str, Any] = (
            await ch.dicts(queries.FUNNEL_SQL, {"account": account, "campaign": campaign})
        )[0]
        assert funnel == _expected_steps(stored)
        assert (funnel["sent"], funnel["bounced_hard"], funnel["opened"]) == (2, 1, 1)
