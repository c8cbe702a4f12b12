"""Provider events into `email.events` contract events.

The event id is derived from the provider's own stable key, so a provider
retrying a webhook produces the same ids and reports count the event once.
Mail Fanout did not send carries none of our ids: it is acknowledged and
counted but not emitted. An event whose ids are present but not UUIDs, or
whose recipient is not an address, is rejected (dead-lettered) alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_args
from uuid import UUID

import msgspec

from services.webhook_ingest.providers.base import MalformedPayload, ProviderEvent, Rejected
from shared.contracts.events import (
    MAX_PROVIDER_LENGTH,
    BounceType,
    EventType,
    provider_event_id,
)
from shared.contracts.fast_events import FastEvent

MAX_EMAIL_LENGTH = 320
BOUNCE_TYPES = (None, *get_args(BounceType))
WHITESPACE = re.compile(r"\s")  # what str.isspace() calls whitespace


@dataclass
class Normalised:
    """The events to record, how many provider events were not ours, and the rejected ones."""

    events: list[FastEvent] = field(default_factory=list)
    unattributed: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def _ids(
    metadata: Mapping[str, Any], where: str, parsed: dict[str, UUID] | None = None
) -> tuple[UUID, UUID, UUID] | None:
    """The three Fanout ids, or None when none is present. `parsed` remembers the strings
    already read: a provider's request holds many events of one account and campaign."""
    account = metadata.get("account_id")
    campaign = metadata.get("campaign_id")
    lead = metadata.get("lead_id")
    if account in (None, "") and campaign in (None, "") and lead in (None, ""):
        return None
    cache = {} if parsed is None else parsed
    return (
        _uuid(account, "account_id", where, cache),
        _uuid(campaign, "campaign_id", where, cache),
        _uuid(lead, "lead_id", where, cache),
    )


def _uuid(raw: Any, name: str, where: str, parsed: dict[str, UUID]) -> UUID:
    if isinstance(raw, str) and (known := parsed.get(raw)) is not None:
        return known
    if isinstance(raw, list) and len(raw) == 1:  # SES tags are lists of one string
        raw = raw[0]
    if raw in (None, ""):
        _missing(name, where)
    try:
        value = _canonical_uuid(raw) if type(raw) is str else UUID(str(raw))
    except ValueError as exc:
        raise MalformedPayload(f"{where}.{name}: not a UUID: {str(raw)[:64]!r}") from exc
    if isinstance(raw, str):
        parsed[raw] = value
    return value


def _canonical_uuid(raw: str) -> UUID:
    """`UUID(raw)`: msgspec reads the forms Fanout writes (36 or 32 hex digits) in C, a
    quarter of `UUID.__init__`'s cost (one lead id per event); `UUID` reads the rest
    (braces, a `urn:uuid:` prefix, hyphens elsewhere) or raises `ValueError`."""
    try:
        return msgspec.convert(raw, UUID)
    except msgspec.ValidationError:
        return UUID(raw)


def _missing(name: str, where: str) -> UUID:
    raise MalformedPayload(f"{where}.{name}: missing while the other Fanout ids are present")


def _address(raw: str, where: str) -> str:
    """The recipient as suppressions store it (lower case), if it looks like an address."""
    email = raw.strip().lower()
    if not 3 <= len(email) <= MAX_EMAIL_LENGTH or "@" not in email or not email.isprintable():
        raise MalformedPayload(f"{where}: recipient {raw[:64]!r} is not an email address")
    if WHITESPACE.search(email):
        raise MalformedPayload(f"{where}: recipient {raw[:64]!r} is not an email address")
    return email


def to_email_event(
    event: ProviderEvent, parsed_ids: dict[str, UUID] | None = None
) -> FastEvent | None:
    """The contract event of `event`, or None when the mail was not sent by Fanout
    (`parsed_ids`: ids already read in the same request).

    A `FastEvent` (msgspec) rather than the pydantic `EmailEvent`: seven times cheaper to
    make, and its fields are checked here against the contract's limits (ids as UUIDs,
    the address, the type, the bounce type, the provider's length, a time)."""
    where = event.where or event.provider
    ids = _ids(event.metadata, where, parsed_ids)
    if ids is None:
        return None
    account_id, campaign_id, lead_id = ids
    email = _address(event.email, where)
    _check(event, where)
    return FastEvent(
        event_id=provider_event_id(event.provider, event.key),
        account_id=account_id,
        campaign_id=campaign_id,
        lead_id=lead_id,
        email=email,
        type=event.type,
        provider=event.provider,
        occurred_at=event.occurred_at,
        provider_message_id=event.provider_message_id[:998],
        reason=event.reason[:1000],
        bounce_type=event.bounce_type,
    )


def _check(event: ProviderEvent, where: str) -> None:
    """What `EmailEvent` would refuse of the fields a provider's parser gave."""
    if type(event.type) is not EventType:
        raise MalformedPayload(f"{where}.type: not an event type: {event.type!r:.64}")
    if event.bounce_type not in BOUNCE_TYPES:
        raise MalformedPayload(f"{where}.bounce_type: expected 'hard' or 'soft'")
    if len(event.provider) > MAX_PROVIDER_LENGTH or not isinstance(event.occurred_at, datetime):
        raise MalformedPayload(f"{where}: not an event of a known provider at a known time")
    if type(event.provider_message_id) is not str or type(event.reason) is not str:
        raise MalformedPayload(f"{where}: the provider's message id and reason must be text")


def normalise(events: Sequence[ProviderEvent], raws: Sequence[Any] = ()) -> Normalised:
    """Every event normalised; a malformed one is rejected with its provider event as sent
    (`raws[i]`, when given: `Parsed.raws`), the others go on."""
    result = Normalised()
    parsed_ids: dict[str, UUID] = {}
    for i, event in enumerate(events):
        try:
            email_event = to_email_event(event, parsed_ids)
        except MalformedPayload as exc:
            result.rejected.append(Rejected(raws[i] if i < len(raws) else None, str(exc)))
            continue
        if email_event is None:
            result.unattributed += 1
        else:
            result.events.append(email_event)
    return result
