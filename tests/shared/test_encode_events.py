"""`encode_events` writes values the contract reads back as the same events, that the
guard's and notifier's msgspec path reads without falling back, and that report_sink's
fast path takes as they are (the events array sliced, not re-serialised)."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.report_sink.decode import _PREFIX, _SUFFIX, event_rows
from shared.contracts import decode
from shared.contracts.events import EmailEvent, EventBatch, EventType
from shared.contracts.fast_events import FastEvent, decode_events, encode_events

ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(0), "zero"),
        timezone(timedelta(hours=2)),
        timezone(-timedelta(hours=5, minutes=30)),
    ]
)
EVENTS = st.builds(
    FastEvent,
    event_id=st.uuids(),
    account_id=st.uuids(),
    campaign_id=st.uuids(),
    lead_id=st.uuids(),
    email=st.text(max_size=40),
    type=st.sampled_from(list(EventType)),
    provider=st.text(max_size=32),
    occurred_at=st.datetimes(timezones=ZONES),
    provider_message_id=st.text(max_size=40),
    reason=st.text(max_size=60),
    bounce_type=st.sampled_from([None, "hard", "soft"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(EVENTS, min_size=1, max_size=5))
def test_encoded_events_read_back_as_the_same_events(events: list[FastEvent]) -> None:
    value = encode_events(events)
    expected = EventBatch(events=[EmailEvent(**msgspec.structs.asdict(e)) for e in events])
    assert decode(EventBatch, value) == expected
    assert decode_events(value) == events


@settings(max_examples=100, deadline=None)
@given(
    st.lists(EVENTS.filter(lambda e: 1970 <= e.occurred_at.year <= 2199), min_size=1, max_size=5)
)
def test_the_sink_takes_the_events_array_as_it_is(events: list[FastEvent]) -> None:
    value = encode_events(events)
    assert value.startswith(_PREFIX) and value.endswith(_SUFFIX)
    rows = event_rows(value)
    assert rows.body == value[len(_PREFIX) : -len(_SUFFIX)]
    assert rows.events == len(events)


@pytest.mark.parametrize("count", [0, 1001])
def test_a_value_holds_one_to_a_thousand_events(count: int) -> None:
    event = FastEvent(
        event_id="00000000-0000-0000-0000-000000000001",  # type: ignore[arg-type]
        account_id="00000000-0000-0000-0000-000000000002",  # type: ignore[arg-type]
        campaign_id="00000000-0000-0000-0000-000000000003",  # type: ignore[arg-type]
        lead_id="00000000-0000-0000-0000-000000000004",  # type: ignore[arg-type]
        email="a@example.com",
        type=EventType.DELIVERED,
        provider="simulator",
        occurred_at=None,  # type: ignore[arg-type]
    )
    with pytest.raises(ValueError, match="1 to 1,000 events"):
        encode_events([event] * count)
