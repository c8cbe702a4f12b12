"""The bounce and exclusion breakdowns, one pass over the campaign's events: the total and
each dimension's top 50 values equal what the events say, for any events, redelivered,
other types and campaigns beside them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta
from uuid import UUID

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.report_sink import queries
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse
from shared.contracts.events import EmailEvent, EventType
from tests.events import event
from tests.report_sink.helpers import T0

pytestmark = pytest.mark.clickhouse


def _expected(
    events: list[EmailEvent], kind: EventType, dimensions: tuple[str, ...]
) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """Distinct leads with a `kind` event, and per dimension the top 50 (value, leads) by
    leads then value, computed from the events in Python."""
    chosen = [e for e in events if e.type is kind]
    per_value: dict[str, dict[str, set[UUID]]] = {d: defaultdict(set) for d in dimensions}
    for e in chosen:
        values = {
            "bounce_type": e.bounce_type or "",
            "reason": e.reason,
            "domain": e.email.split("@", 1)[1].lower(),
        }
        for d in dimensions:
            per_value[d][values[d]].add(e.lead_id)
    top = {
        d: sorted(((v, len(leads)) for v, leads in values.items()), key=lambda x: (-x[1], x[0]))[
            :50
        ]
        for d, values in per_value.items()
    }
    return len({e.lead_id for e in chosen}), top


event_specs = st.lists(
    st.tuples(
        st.integers(0, 80),  # lead
        st.sampled_from([EventType.BOUNCED, EventType.EXCLUDED, EventType.SENT]),
        st.sampled_from([None, "hard", "soft"]),
        st.integers(0, 70),  # reason: more than 50 values, so the cut shows
        st.integers(0, 60),  # recipient domain
        st.booleans(),  # upper-case domain (the view lower-cases it)
    ),
    min_size=0,
    max_size=150,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=event_specs, replayed=st.integers(0, 150))
async def test_breakdowns_equal_the_events(
    ch: AsyncClickHouse,
    specs: list[tuple[int, EventType, str | None, int, int, bool]],
    replayed: int,
) -> None:
    account, campaign, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    leads = [uuid.uuid4() for _ in range(81)]
    # 60 more leads, each bounced and excluded with a reason of its own: every example has
    # more than 50 values in a dimension, so the cut and its order by value are tested
    events = [
        event(account, campaign, uuid.uuid4(), kind, T0, email=f"x{k}@many.example.com",
              reason=f"only {k:02d}", bounce_type="hard" if kind is EventType.BOUNCED else None)
        for k in range(60)
        for kind in (EventType.BOUNCED, EventType.EXCLUDED)
    ]  # fmt: skip
    for n, (lead, kind, bounce_type, reason, domain, upper) in enumerate(specs):
        host = f"D{domain}.Example.com" if upper else f"d{domain}.example.com"
        for c in (campaign, other) if n % 3 == 0 else (campaign,):
            events.append(
                event(account, c, leads[lead], kind, T0 + timedelta(seconds=n),
                      email=f"lead{lead}@{host}", reason=f"reason {reason}",
                      bounce_type=bounce_type if kind is EventType.BOUNCED else None)
            )  # fmt: skip
    writer = EventWriter(ch)
    for token, part in (("first", events), ("replay", events[:replayed])):
        if part:
            body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in part)
            await writer.insert(body, f"{campaign}-{token}")
    mine = [e for e in events if e.campaign_id == campaign]
    for kind, dimensions, read in (
        (EventType.BOUNCED, queries.BOUNCE_DIMENSIONS, queries.bounces),
        (EventType.EXCLUDED, queries.EXCLUSION_DIMENSIONS, queries.exclusions),
    ):
        total, breakdowns = await read(ch, account, campaign)
        got = {d: [(b.value, b.leads) for b in rows] for d, rows in breakdowns.items()}
        assert (total, got) == _expected(mine, kind, dimensions)
