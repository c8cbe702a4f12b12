"""The shortcuts of webhook_ingest's per-event path give what the plain code gives.

Ids already canonical are kept as text, the Fanout ids of a request are parsed once,
`provider_event_id` is uuid5 with the namespace's bytes made once: each is checked
against the plain computation (`str(UUID(...))`, `uuid5`), on any input. A request's
events keep the provider events they were made of beside them (`Parsed.raws`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.webhook_ingest.normalize import normalise
from services.webhook_ingest.providers.base import MalformedPayload, Parsed, ProviderEvent
from services.webhook_ingest.providers.fields import uuid_text
from shared.contracts.events import EVENT_NAMESPACE, EventType, provider_event_id


@given(
    st.uuids(), st.sampled_from([str, lambda u: str(u).upper(), lambda u: u.hex, "{{{}}}".format])
)
def test_uuid_text_is_the_canonical_text(value: UUID, spell: Any) -> None:
    assert uuid_text(spell(value), "events[0].id") == str(value)


@given(st.text(max_size=40))
def test_uuid_text_refuses_what_is_not_a_uuid(text: str) -> None:
    try:
        expected: str | None = str(UUID(text))
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(MalformedPayload, match=r"events\[0\]\.id: not a UUID"):
            uuid_text(text, "events[0].id")
    else:
        assert uuid_text(text, "events[0].id") == expected


@given(st.text(max_size=20), st.text(max_size=80))
def test_provider_event_id_is_uuid5(provider: str, key: str) -> None:
    expected = uuid5(EVENT_NAMESPACE, f"provider:{provider}:{key}")
    assert provider_event_id(provider, key) == expected
    assert str(provider_event_id(provider, key)) == str(expected)


@given(
    st.one_of(
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        st.uuids().map("{{{}}}".format),
        st.uuids().map("urn:uuid:{}".format),
        st.uuids().map(lambda u: u.hex[:12] + "-" + u.hex[12:]),
        st.text(alphabet="0123456789abcdefABCDEF-{}", max_size=40),
        st.text(max_size=40),
    )
)
def test_a_lead_id_reads_as_uuid_reads_it(text: str) -> None:
    """Its msgspec shortcut gives `UUID(text)`, or the same refusal."""
    account, campaign = str(uuid4()), str(uuid4())
    metadata = {"account_id": account, "campaign_id": campaign, "lead_id": text}
    result = normalise([_event(0, metadata)])
    try:
        expected: UUID | None = UUID(text) if text else None
    except ValueError:
        expected = None
    if expected is None:
        assert not result.events and "events[0].lead_id" in result.rejected[0].reason
    else:
        assert [e.lead_id for e in result.events] == [expected]
        assert type(result.events[0].lead_id) is UUID


def test_a_rejected_event_keeps_the_provider_event_it_was_made_of() -> None:
    """`Parsed` keeps each event's provider event beside it (one provider event may make
    several events, or none); normalisation rejects a malformed one with that raw event."""
    metadata = {"account_id": str(uuid4()), "campaign_id": str(uuid4()), "lead_id": str(uuid4())}
    raws = [{"n": 0}, {"n": 1}, {"n": 2}]

    def parse_one(raw: Any, where: str) -> ProviderEvent | list[ProviderEvent] | None:
        n = raw["n"]
        if n == 1:
            return None  # an event we do not map
        if n == 0:
            return [_event(0, metadata), _event(1, metadata | {"lead_id": "not-a-uuid"})]
        return _event(2, metadata | {"lead_id": str(uuid4())})

    parsed = Parsed()
    for i, raw in enumerate(raws):
        parsed.take(raw, f"events[{i}]", parse_one)
    assert parsed.raws == [raws[0], raws[0], raws[2]] and parsed.ignored == 1
    result = normalise(parsed.events, parsed.raws)
    assert [r.raw for r in result.rejected] == [raws[0]]
    assert "lead_id" in result.rejected[0].reason
    assert [e.email for e in result.events] == ["lead0@example.com", "lead2@example.com"]


def _event(i: int, metadata: dict[str, Any]) -> ProviderEvent:
    return ProviderEvent(
        provider="simulator",
        key=str(uuid4()),
        type=EventType.DELIVERED,
        email=f"Lead{i}@Example.com ",
        occurred_at=datetime(2026, 1, 2, tzinfo=UTC),
        metadata=metadata,
        where=f"events[{i}]",
    )


def test_ids_read_once_per_request_decide_each_event_alone() -> None:
    account, campaign = uuid4(), uuid4()
    good = {"account_id": str(account), "campaign_id": str(campaign)}
    events = [
        _event(0, good | {"lead_id": str(uuid4())}),
        _event(1, good | {"lead_id": "not-a-uuid"}),
        _event(2, good | {"lead_id": ""}),
        _event(
            3,
            {
                "account_id": [str(account)],
                "campaign_id": [str(campaign).upper()],
                "lead_id": [str(uuid4())],
            },
        ),  # SES tags: lists of one string
        _event(4, {}),
        _event(5, good | {"lead_id": str(uuid4())}),
    ]
    result = normalise(events)
    assert [e.email for e in result.events] == [
        "lead0@example.com",
        "lead3@example.com",
        "lead5@example.com",
    ]
    assert {(e.account_id, e.campaign_id) for e in result.events} == {(account, campaign)}
    assert [r.reason for r in result.rejected] == [
        "events[1].lead_id: not a UUID: 'not-a-uuid'",
        "events[2].lead_id: missing while the other Fanout ids are present",
    ]
    assert result.unattributed == 1


@pytest.mark.parametrize("address", ["a b@example.com", "a@example.com\u2003x", "ab"])
def test_an_address_with_whitespace_or_too_short_is_rejected(address: str) -> None:
    metadata = {"account_id": str(uuid4()), "campaign_id": str(uuid4()), "lead_id": str(uuid4())}
    event = msgspec.structs.replace(_event(0, metadata), email=address)
    result = normalise([event])
    assert not result.events and "is not an email address" in result.rejected[0].reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bounce_type": "HARD"}, "events[0].bounce_type: expected 'hard' or 'soft'"),
        ({"type": "delivered"}, "events[0].type: not an event type: 'delivered'"),
        ({"provider": "p" * 33}, "events[0]: not an event of a known provider at a known time"),
        ({"occurred_at": "2026-01-02"}, "events[0]: not an event of a known provider at a"),
        ({"reason": None}, "events[0]: the provider's message id and reason must be text"),
    ],
)
def test_fields_the_contract_refuses_are_rejected_with_the_event(
    change: dict[str, Any], reason: str
) -> None:
    """What the pydantic `EmailEvent` refused, the struct's maker refuses the same way: the
    event alone is rejected (dead-lettered), the request's others go on."""
    metadata = {"account_id": str(uuid4()), "campaign_id": str(uuid4()), "lead_id": str(uuid4())}
    bad = msgspec.structs.replace(_event(0, metadata), **change)
    good = _event(1, metadata | {"lead_id": str(uuid4())})
    result = normalise([bad, good])
    assert len(result.rejected) == 1 and result.rejected[0].reason.startswith(reason)
    assert [e.email for e in result.events] == ["lead1@example.com"]
