"""`email.events` values → JSONEachRow lines for ClickHouse, cheaply, contract kept.

Hot path: orjson parses the value and a few checks per event confirm it has exactly the
contract's fields with plausible values; each event is re-serialised as one JSON line
and ClickHouse parses the typed values (UUIDs, times). Anything that looks off takes
the slow path: full pydantic validation of the `EventBatch` contract, which either
normalises the message (defaults, UUID spellings) or refuses it (dead-letter topic).
If ClickHouse still refuses a batch, `validate_strict` re-checks every message with
pydantic before the retry (see consumer.py).
"""

from __future__ import annotations

from typing import Any

import orjson

from shared.contracts.base import ContractError, decode
from shared.contracts.events import EmailEvent, EventBatch, EventType

EVENT_COLUMNS: tuple[str, ...] = tuple(EmailEvent.model_fields)
_EVENT_KEYS = frozenset(EVENT_COLUMNS)
_BATCH_KEYS = frozenset(EventBatch.model_fields)
_TYPES = frozenset(t.value for t in EventType)
_BOUNCE_TYPES = frozenset({None, "hard", "soft"})
_UUIDS = ("event_id", "account_id", "campaign_id", "lead_id")
_TEXTS = ("email", "provider_message_id", "reason")
# DateTime64(3) holds 1900..2299; years outside this window are refused outright
_FIRST_YEAR, _LAST_YEAR = "1970", "2199"


class _LooksOff(Exception):
    """The fast checks are not sure: validate with pydantic."""


def event_lines(raw: bytes | None) -> list[bytes]:
    """One JSON line per event of a value; `ContractError` when it breaks the contract."""
    if raw is None:
        raise ContractError("empty message value")
    try:
        return _fast_lines(raw)
    except _LooksOff:
        return _validated_lines(raw)


def validate_strict(raw: bytes | None) -> None:
    """Raise `ContractError` unless the value passes the full contract and range checks."""
    _validated_lines(raw)


def _fast_lines(raw: bytes) -> list[bytes]:
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
    return [orjson.dumps(event) for event in events]


def _check_event(event: Any) -> None:
    if type(event) is not dict or event.keys() != _EVENT_KEYS:
        raise _LooksOff
    if event["type"] not in _TYPES or event["bounce_type"] not in _BOUNCE_TYPES:
        raise _LooksOff
    for name in _UUIDS:
        value = event[name]
        if type(value) is not str or len(value) != 36:
            raise _LooksOff
    for name in _TEXTS:
        if type(event[name]) is not str:
            raise _LooksOff
    provider, when = event["provider"], event["occurred_at"]
    if type(provider) is not str or len(provider) > 32 or type(when) is not str:
        raise _LooksOff
    if not _FIRST_YEAR <= when[:4] <= _LAST_YEAR:
        raise _LooksOff


def _validated_lines(raw: bytes | None) -> list[bytes]:
    batch = decode(EventBatch, raw)
    lines: list[bytes] = []
    for event in batch.events:
        year = event.occurred_at.year
        if not int(_FIRST_YEAR) <= year <= int(_LAST_YEAR):
            raise ContractError(f"EventBatch: events.occurred_at: year {year} out of range")
        lines.append(orjson.dumps(event.model_dump(mode="json")))
    return lines
