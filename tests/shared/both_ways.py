"""A value decoded by a contract's pydantic model and by its msgspec mirror, for the tests
that check the mirror accepts a subset of the contract with the same values, the UUID
spellings both are tried on, and `email.events` values with one field of one event changed
(`EVENT_VALUES`: for every reader of that topic that has a fast path)."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec
from hypothesis import strategies as st

from shared.contracts.base import ContractError, Message, decode
from shared.contracts.events import EventType

M = TypeVar("M", bound=Message)
S = TypeVar("S", bound=msgspec.Struct)


def decoded_both_ways(model: type[M], mirror: type[S], raw: bytes) -> tuple[M | None, S | None]:
    """`raw` as `model` and as `mirror`, each None where that side refuses it; a value the
    mirror accepts must be one the contract accepts too."""
    try:
        slow: M | None = decode(model, raw)
    except ContractError:
        slow = None
    try:
        fast: S | None = msgspec.json.decode(raw, type=mirror)
    except msgspec.DecodeError:
        fast = None
    assert fast is None or slow is not None, (
        f"the mirror accepts what the contract refuses: {raw!r}"
    )
    return slow, fast


ID = "9b2d4e6a-1c3f-4a5b-8d7e-0f1a2b3c4d5e"
UUIDS = st.sampled_from(
    [
        ID,
        ID.upper(),
        ID.replace("-", ""),  # hex: both read it
        "{" + ID + "}",
        "urn:uuid:" + ID,
        "z" * 8 + ID[8:],  # not hex
        ID[:-1],
        ID[:8] + ID[9:13] + "-" + ID[13:],  # hyphen misplaced
        "",
        12,
        None,
    ]
)

TIMES = st.sampled_from(
    [
        "2026-12-02T11:29:14.123456Z",
        "2026-12-02T11:29:14Z",
        "2026-12-02T11:29:14+02:00",
        "2026-12-02T11:29:14.5-05:30",
        "2026-12-02T11:29:14",  # naive
        "2026-12-02t11:29:14z",
        "2026-12-02 11:29:14Z",
        "2026-12-02T11:29:14.1234567Z",
        "2026-12-02",
        "2026-12-02T24:00:00Z",
        "2026-02-30T10:00:00Z",
        "2026-12-02T11:29:60Z",
        "20261202T112914Z",
        "1764674954",
        1764674954,
        "",
    ]
)
TYPES = st.sampled_from([t.value for t in EventType] + ["Delivered", "exploded", "", 3])
TEXT = st.one_of(st.text(max_size=40), st.integers(-(2**40), 2**40), st.none())
BOUNCES = st.sampled_from([None, "hard", "soft", "HARD", "", 1])
MISSING = object()


GOOD_EVENT: dict[str, Any] = {
    "account_id": ID,
    "campaign_id": ID,
    "email": "a@example.com",
    "type": "delivered",
    "provider": "ses",
    "provider_message_id": "<m@x>",
    "reason": "",
    "bounce_type": None,
    "occurred_at": "2026-12-02T11:29:14.123Z",
}
EVENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "event_id": UUIDS,
    "account_id": UUIDS,
    "campaign_id": UUIDS,
    "lead_id": UUIDS,
    "email": TEXT,
    "type": TYPES,
    "provider": st.one_of(TEXT, st.sampled_from(["x" * 32, "x" * 33])),
    "provider_message_id": TEXT,
    "reason": TEXT,
    "bounce_type": BOUNCES,
    "occurred_at": TIMES,
    "extra": st.just(1),
}


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event, or one with one field changed (or dropped) to another spelling or a
    value out of the contract's bounds: so a mirror looser than the contract on any one
    field is found."""
    event = dict(GOOD_EVENT, event_id=str(uuid.uuid4()), lead_id=str(uuid.uuid4()))
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(EVENT_FIELDS)))
        event[name] = draw(st.one_of(EVENT_FIELDS[name], st.just(MISSING)))
    return {k: v for k, v in event.items() if v is not MISSING}


EVENT_VALUES = st.fixed_dictionaries(
    {
        "schema_version": st.sampled_from([1, 1, 1, 2, 1.0, True, "1"]),
        "events": st.one_of(
            st.lists(events(), min_size=0, max_size=3),
            st.just([GOOD_EVENT | {"event_id": ID, "lead_id": ID}] * 1001),
        ),
    }
)
