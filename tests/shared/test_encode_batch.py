"""`encode_batch` writes an `email.events` value byte for byte as `encode` (pydantic) does,
whatever the events hold: any text (quotes, controls, non-ASCII), every type, bounce type
and a time in any zone (UTC, other zero offsets, naive, microseconds); text neither can
write (a lone surrogate) fails as pydantic fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError

from shared.contracts import decode, encode
from shared.contracts.events import EmailEvent, EventBatch, EventType, encode_batch

ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(0), "zero but not UTC"),
        timezone(timedelta(hours=2)),
        timezone(timedelta(hours=-5, minutes=-30)),
        None,
    ]
)
EVENTS = st.builds(
    EmailEvent,
    event_id=st.uuids(),
    account_id=st.uuids(),
    campaign_id=st.uuids(),
    lead_id=st.uuids(),
    email=st.text(max_size=40),
    type=st.sampled_from(list(EventType)),
    provider=st.text(max_size=32),
    provider_message_id=st.text(max_size=40),
    reason=st.text(max_size=60),
    bounce_type=st.sampled_from([None, "hard", "soft"]),
    occurred_at=st.datetimes(timezones=ZONES),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(EVENTS, min_size=1, max_size=5))
def test_encode_batch_is_the_contracts_encoding(events: list[EmailEvent]) -> None:
    batch = EventBatch(events=events)
    assert encode_batch(batch) == encode(batch)
    assert decode(EventBatch, encode_batch(batch)) == batch


def test_text_neither_can_write_fails_as_pydantic_fails() -> None:
    event = EmailEvent(
        event_id="00000000-0000-0000-0000-000000000001",
        account_id="00000000-0000-0000-0000-000000000002",
        campaign_id="00000000-0000-0000-0000-000000000003",
        lead_id="00000000-0000-0000-0000-000000000004",
        email="a@example.com",
        type=EventType.BOUNCED,
        provider="ses",
        reason="lone \ud800 surrogate",
        bounce_type="hard",
        occurred_at=datetime(2026, 12, 3, 22, 0, tzinfo=UTC),
    )
    batch = EventBatch(events=[event])
    with pytest.raises(PydanticSerializationError, match="surrogates not allowed"):
        encode(batch)
    with pytest.raises(PydanticSerializationError, match="surrogates not allowed"):
        encode_batch(batch)
