"""The guard's tally against a plain count of the same events, for any mix of events."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.guard.tally import Counts, Tally, facts_of
from shared.contracts.events import EventType
from shared.contracts.fast_events import FastEvent

T0 = datetime(2026, 12, 3, 10, 59, tzinfo=UTC)
CAMPAIGNS = [uuid.UUID(int=n) for n in (7, 2**127 + 3)]  # a small id and a large one
ACCOUNTS = {CAMPAIGNS[0]: uuid.UUID(int=11), CAMPAIGNS[1]: uuid.UUID(int=2**100)}

events = st.lists(
    st.tuples(
        st.sampled_from(list(EventType)),
        st.sampled_from([None, "hard", "soft"]),
        st.sampled_from(CAMPAIGNS),
        st.integers(min_value=0, max_value=7200),  # seconds after T0: three hours
    ),
    max_size=60,
)


def _event(kind: EventType, bounce: str | None, campaign: uuid.UUID, second: int) -> FastEvent:
    return FastEvent(
        event_id=uuid.uuid4(),
        account_id=ACCOUNTS[campaign],
        campaign_id=campaign,
        lead_id=uuid.uuid4(),
        email="a@example.com",
        type=kind,
        provider="simulator",
        occurred_at=T0 + timedelta(seconds=second),
        bounce_type=bounce if kind is EventType.BOUNCED else None,  # type: ignore[arg-type]
    )


def _plain(
    made: list[FastEvent],
) -> tuple[dict[uuid.UUID, Counts], dict[tuple[uuid.UUID, datetime], Counts]]:
    """Each event counted on its own, by the rules as written."""
    campaigns: dict[uuid.UUID, Counts] = {}
    hours: dict[tuple[uuid.UUID, datetime], Counts] = {}
    for e in made:
        if e.type not in (EventType.DELIVERED, EventType.BOUNCED, EventType.COMPLAINED):
            continue
        hour = e.occurred_at.replace(minute=0, second=0, microsecond=0)
        for counts in (
            campaigns.setdefault(e.campaign_id, Counts()),
            hours.setdefault((e.account_id, hour), Counts()),
        ):
            if e.type is EventType.COMPLAINED:
                counts.complained += 1
                continue
            counts.outcomes += 1
            if e.type is EventType.DELIVERED:
                counts.delivered += 1
            elif e.bounce_type == "hard":
                counts.bounced_hard += 1
            else:
                counts.bounced_soft += 1
    return campaigns, hours


@given(events)
def test_the_tally_is_the_plain_count(
    drawn: list[tuple[EventType, str | None, uuid.UUID, int]],
) -> None:
    made = [_event(*d) for d in drawn]
    tally = Tally.of(facts_of(made))
    campaigns, hours = _plain(made)
    assert dict(tally.campaigns) == campaigns
    assert dict(tally.hours) == hours
    assert tally.events == sum(c.outcomes + c.complained for c in campaigns.values())
    assert tally.accounts_of == {c: ACCOUNTS[c] for c in campaigns}


def test_facts_held_for_a_batch_add_nothing_for_the_garbage_collector_to_walk() -> None:
    """A batch holds its facts until it is written, and every timed collection walks what
    is tracked: 10,000 facts must not be 10,000 (or 30,000) more tracked objects."""
    gc.collect()
    tracked_before = len(gc.get_objects())
    made = [_event(EventType.DELIVERED, None, CAMPAIGNS[n % 2], n % 7200) for n in range(10_000)]
    facts = facts_of(made)
    del made  # the events go once decoded; their facts stay until the write
    gc.collect()
    assert len(facts) == 10_000
    assert len(gc.get_objects()) - tracked_before < 100
