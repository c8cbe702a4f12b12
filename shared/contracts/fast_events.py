"""`email.events` values decoded by msgspec for the consumers that read every one of them.

The guard and the notifier decode every value of `email.events` (hundreds of thousands a
minute) and keep a few fields of a few types of event. Pydantic validating `EventBatch`
was half of their CPU. Hot path: msgspec decodes and validates the value against
`FastBatch`, a mirror of the contract (same fields, types, defaults and limits; unknown
fields refused), into plain structs, three times faster. msgspec accepts a subset of
what pydantic does (canonical or hex UUIDs, RFC 3339 times, exact integers), so a value
it accepts is one the contract accepts, with the same values (but for a time written with
more than six decimals, which msgspec rounds to the microsecond where pydantic truncates:
at most 1 µs apart; no Fanout producer writes one). Anything it refuses takes
the slow path: the whole `EventBatch` validated by pydantic, which either normalises it
(other spellings pydantic also reads) or refuses it with the field named
(`ContractError`: the dead-letter topic), exactly as before. The contract stays
`shared.contracts.events`; `tests/shared/test_fast_events.py` checks that both agree.

The structs are not tracked by the cyclic garbage collector (`gc=False`): they hold ids,
times and text, never a reference back to themselves, so the collector has no reason to
walk the events a consumer holds between two polls.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Annotated, Protocol
from uuid import UUID

import msgspec

from shared.contracts.base import ContractError, decode
from shared.contracts.events import (
    MAX_PROVIDER_LENGTH,
    BounceType,
    EmailEvent,
    EventBatch,
    EventType,
)


class EventFields(Protocol):
    """What a consumer reads of one event: an `EmailEvent` or a `FastEvent`."""

    @property
    def event_id(self) -> UUID: ...
    @property
    def account_id(self) -> UUID: ...
    @property
    def campaign_id(self) -> UUID: ...
    @property
    def lead_id(self) -> UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def type(self) -> EventType: ...
    @property
    def provider(self) -> str: ...
    @property
    def provider_message_id(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def bounce_type(self) -> BounceType | None: ...
    @property
    def occurred_at(self) -> datetime: ...


class FastEvent(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """`EmailEvent`, as msgspec decodes it (required fields first, as msgspec wants)."""

    event_id: UUID
    account_id: UUID
    campaign_id: UUID
    lead_id: UUID
    email: str
    type: EventType
    provider: Annotated[str, msgspec.Meta(max_length=MAX_PROVIDER_LENGTH)]
    occurred_at: datetime
    provider_message_id: str = ""
    reason: str = ""
    bounce_type: BounceType | None = None

    @classmethod
    def of(cls, event: EmailEvent) -> FastEvent:
        """The struct of a validated `EmailEvent` (the slow path's result)."""
        return cls(**{name: getattr(event, name) for name in cls.__struct_fields__})


class FastBatch(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """`EventBatch`, as msgspec decodes it."""

    events: Annotated[list[FastEvent], msgspec.Meta(min_length=1, max_length=1000)]
    schema_version: int = 1


class _Value(msgspec.Struct, gc=False):
    """A value as `encode_events` writes it: `schema_version` first, as pydantic writes the
    contract's, so report_sink's fast path takes the events array as it is."""

    schema_version: int
    events: list[FastEvent]


_DECODER = msgspec.json.Decoder(FastBatch)
_ENCODER = msgspec.json.Encoder()


def encode_events(events: list[FastEvent]) -> bytes:
    """One value of `email.events` holding `events` (1 to 1,000, as the contract says).

    The structs are not validated again: their maker checked each field against the
    contract (webhook_ingest's `to_email_event`). msgspec writes what pydantic writes but
    for the order of an event's keys (`occurred_at` before the fields with defaults):
    UUIDs as canonical text, times in RFC 3339 with `Z` for UTC, the type's value.
    """
    if not 1 <= len(events) <= 1000:
        raise ValueError(f"a value holds 1 to 1,000 events, not {len(events)}")
    return _ENCODER.encode(_Value(1, events))


def decode_events(raw: bytes | None) -> list[FastEvent]:
    """The events of one value of `email.events`; `ContractError` when it breaks the contract."""
    if raw is None:
        raise ContractError("empty message value")
    try:
        return _DECODER.decode(raw).events
    except msgspec.DecodeError:  # ValidationError included
        pass
    return [FastEvent.of(event) for event in decode(EventBatch, raw).events]


# A header naming the types of the events a value of `email.events` holds (their values,
# comma-separated), set by the producers whose values hold a few types a consumer may not
# use: the sender's outcomes (`sent`, `failed`, ...) and the resolver's `excluded`. A
# consumer that uses none of them reads the value past without decoding it
# (`holds_none_of`); a value without the header is decoded as before.
TYPES_HEADER = "event-types"
Headers = Sequence[tuple[str, bytes]]


def types_header(types: Iterable[EventType]) -> list[tuple[str, bytes]]:
    """The headers of a value holding events of `types`."""
    return [(TYPES_HEADER, ",".join(sorted({t.value for t in types})).encode())]


def holds_none_of(headers: Headers | None, wanted: Collection[str]) -> bool:
    """True when the value's headers say it holds no event of a type in `wanted` (event
    types, or their values: an `EventType` is its text); False without the header (its
    events must be read to know)."""
    for key, value in headers or ():
        if key == TYPES_HEADER:
            return not any(t in wanted for t in value.decode().split(","))
    return False
