"""`email.events` values → JSONEachRow lines for ClickHouse, cheaply, contract kept.

Hot path: orjson parses the value and a few checks per event confirm it has exactly the
contract's fields with plausible values; then the value's own bytes between
`{"schema_version":1,"events":[` and `]}` are the rows (JSONEachRow accepts objects
separated by commas), so nothing is re-serialised; ClickHouse parses the typed values
(UUIDs, times). A value laid out differently is re-serialised event by event. Anything
that looks off takes the slow path: full pydantic validation of the `EventBatch`
contract, which either normalises the message (defaults, UUID spellings) or refuses it
(dead-letter topic). If ClickHouse still refuses a batch, `strict_rows` rebuilds every
message through pydantic (bad ones dead-lettered, good ones re-serialised) before the
retry, so a value whose bytes and parse disagree (duplicate keys) cannot block the sink.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from shared.contracts.base import ContractError, decode
from shared.contracts.events import MAX_PROVIDER_LENGTH, EmailEvent, EventBatch, EventType

EVENT_COLUMNS: tuple[str, ...] = tuple(EmailEvent.model_fields)
_EVENT_KEYS = frozenset(EVENT_COLUMNS)
_BATCH_KEYS = frozenset(EventBatch.model_fields)
_TYPES = frozenset(t.value for t in EventType)
_BOUNCE_TYPES = frozenset({None, "hard", "soft"})
# DateTime64(3) holds 1900..2299; years outside this window are refused outright
_FIRST_YEAR, _LAST_YEAR = "1970", "2199"


_CAMPAIGN = itemgetter("account_id", "campaign_id")
_PREFIX = b'{"schema_version":1,"events":['
_SUFFIX = b"]}"


Campaigns = frozenset[tuple[str, str]]
"""The (account id, campaign id) pairs of a value's events, as they were written."""


class Rows(NamedTuple):
    """The JSONEachRow rows of one value, how many events they hold, and their campaigns."""

    body: bytes
    events: int
    campaigns: Campaigns


class _LooksOff(Exception):
    """The fast checks are not sure: validate with pydantic."""


def event_rows(raw: bytes | None) -> Rows:
    """The events of a value as JSONEachRow rows; `ContractError` when it breaks the contract."""
    if raw is None:
        raise ContractError("empty message value")
    try:
        return _fast_rows(raw)
    except _LooksOff:
        return _validated_rows(raw)


def strict_rows(raw: bytes | None) -> Rows:
    """The slow path only: full contract and range checks, rows re-serialised."""
    return _validated_rows(raw)


def _fast_rows(raw: bytes) -> Rows:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _LooksOff from exc
    if type(value) is not dict or value.keys() != _BATCH_KEYS or value["schema_version"] != 1:
        raise _LooksOff
    events = value["events"]
    if type(events) is not list or not 1 <= len(events) <= 1000:
        raise _LooksOff
    for event in events:
        _check_event(event)
    campaigns = frozenset(map(_CAMPAIGN, events))
    if raw.startswith(_PREFIX) and raw.endswith(_SUFFIX):
        # exactly two keys, schema_version first: the rest up to `]}` is the events array
        return Rows(raw[len(_PREFIX) : -len(_SUFFIX)], len(events), campaigns)
    return Rows(b",".join(orjson.dumps(event) for event in events), len(events), campaigns)


def _check_event(event: Any) -> None:
    # one expression per group: this runs for every event at 200k events/s
    if type(event) is not dict or event.keys() != _EVENT_KEYS:
        raise _LooksOff
    if event["type"] not in _TYPES or event["bounce_type"] not in _BOUNCE_TYPES:
        raise _LooksOff
    a, b, c, d = event["event_id"], event["account_id"], event["campaign_id"], event["lead_id"]
    if not (type(a) is type(b) is type(c) is type(d) is str):
        raise _LooksOff
    if not len(a) == len(b) == len(c) == len(d) == 36:
        raise _LooksOff
    email, pmid, reason = event["email"], event["provider_message_id"], event["reason"]
    provider, when = event["provider"], event["occurred_at"]
    if not (type(email) is type(pmid) is type(reason) is type(provider) is type(when) is str):
        raise _LooksOff
    if len(provider) > MAX_PROVIDER_LENGTH or not _FIRST_YEAR <= when[:4] <= _LAST_YEAR:
        raise _LooksOff


def _validated_rows(raw: bytes | None) -> Rows:
    batch = decode(EventBatch, raw)
    rows: list[bytes] = []
    for event in batch.events:
        year = event.occurred_at.year
        if not int(_FIRST_YEAR) <= year <= int(_LAST_YEAR):
            raise ContractError(f"EventBatch: events.occurred_at: year {year} out of range")
        rows.append(orjson.dumps(event.model_dump(mode="json")))
    campaigns = frozenset((str(e.account_id), str(e.campaign_id)) for e in batch.events)
    return Rows(b",".join(rows), len(rows), campaigns)
