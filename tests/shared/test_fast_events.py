"""`decode_events` (msgspec, pydantic when unsure) reads `email.events` exactly as the
contract does: what msgspec accepts pydantic accepts with the same values, and a value the
contract refuses is refused (`ContractError`), whatever field breaks it."""

from __future__ import annotations

import gc
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings

from shared.contracts.base import ContractError
from shared.contracts.events import EmailEvent, EventBatch, EventType
from shared.contracts.fast_events import FastBatch, FastEvent, decode_events
from tests.shared.both_ways import EVENT_VALUES, decoded_both_ways


def _same(fast: FastEvent, slow: EmailEvent) -> None:
    for name in FastEvent.__struct_fields__:
        if name != "occurred_at":
            assert getattr(fast, name) == getattr(slow, name), name
    # more than six decimals: msgspec rounds to the microsecond, pydantic truncates
    assert abs(fast.occurred_at - slow.occurred_at) <= timedelta(microseconds=1)
    if fast.occurred_at.tzinfo is not None:  # the hour the guard counts in is the same
        assert fast.occurred_at.utcoffset() == slow.occurred_at.utcoffset()
    else:
        assert slow.occurred_at.tzinfo is None


@settings(max_examples=1000, deadline=None)
@given(EVENT_VALUES)
def test_fast_path_accepts_a_subset_of_the_contract_with_the_same_values(
    value: dict[str, Any],
) -> None:
    raw = orjson.dumps(value)
    slow, fast = decoded_both_ways(EventBatch, FastBatch, raw)
    if fast is not None and slow is not None:  # msgspec accepted: the same values
        assert fast.schema_version == slow.schema_version
        assert len(fast.events) == len(slow.events)
        for f, s in zip(fast.events, slow.events, strict=True):
            _same(f, s)
    if slow is None:  # the contract refuses: so does the decoder (dead letter)
        with pytest.raises(ContractError):
            decode_events(raw)
    else:
        decoded = decode_events(raw)
        assert len(decoded) == len(slow.events)
        for f, s in zip(decoded, slow.events, strict=True):
            _same(f, s)


def _event(kind: EventType) -> EmailEvent:
    return EmailEvent(
        event_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        campaign_id=uuid.uuid4(),
        lead_id=uuid.uuid4(),
        email="a@example.com",
        type=kind,
        provider="ses",
        occurred_at=datetime(2026, 12, 2, 11, 29, 14, 123000, tzinfo=UTC),
    )


def test_compact_values_take_the_fast_path() -> None:
    sent = [_event(EventType.SENT) for _ in range(3)]
    raw = EventBatch(events=sent).model_dump_json().encode()
    fast = msgspec.json.decode(raw, type=FastBatch)  # no fallback needed
    assert [FastEvent.of(e) for e in sent] == fast.events == decode_events(raw)


def test_empty_value_is_refused() -> None:
    with pytest.raises(ContractError, match="empty"):
        decode_events(None)


def test_decoded_events_are_not_tracked_by_the_garbage_collector() -> None:
    raw = EventBatch(events=[_event(EventType.BOUNCED)]).model_dump_json().encode()
    [decoded] = decode_events(raw)
    assert not gc.is_tracked(decoded)
