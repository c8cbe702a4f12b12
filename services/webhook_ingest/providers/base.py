"""What every provider module produces: verified, parsed events before normalisation.

A provider module has two steps: `verify` (the provider's own authentication,
on the raw request, before anything is parsed into events) raising
`Unauthorized`, and `parse` (the verified body into `ProviderEvent`s) raising
`MalformedPayload` with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.contracts.events import BounceType, EventType


class Unauthorized(Exception):
    """The request does not carry the provider's valid authentication (401)."""


class Forbidden(Exception):
    """Authentic, but from a source we do not accept, e.g. an SNS topic not allowed (403)."""


class MalformedPayload(ValueError):
    """The authenticated body is not what the provider documents (400); the message says why."""


class ProviderUnavailable(Exception):
    """Something of the provider's we need (an SNS certificate) cannot be fetched now (503)."""


@dataclass(frozen=True)
class ProviderEvent:
    """One provider-reported fact about one recipient, before normalisation.

    `key` is the provider's own stable id of this fact, the same on every retry;
    `metadata` holds the ids the sender attached (account_id, campaign_id,
    lead_id) as the provider echoed them back, or is empty for mail Fanout did
    not send.
    """

    provider: str
    key: str
    type: EventType
    email: str
    occurred_at: datetime
    metadata: Mapping[str, Any]
    provider_message_id: str = ""
    reason: str = ""
    bounce_type: BounceType | None = None
    where: str = ""  # its place in the payload, for error messages


@dataclass
class Parsed:
    """A verified body's events we record, and how many provider events we do not map."""

    events: list[ProviderEvent] = field(default_factory=list)
    ignored: int = 0


def require_fresh_timestamp(
    timestamp: str, label: str, tolerance_s: float, now: float | None = None
) -> None:
    """Raise `Unauthorized` unless `timestamp` is unix seconds within `tolerance_s` of now.

    Every signed-timestamp provider checks this before the signature, so a captured
    request cannot be replayed later.
    """
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthorized(f"{label} is not unix seconds")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_s:
        raise Unauthorized(f"{label} is outside the allowed tolerance")


def load_json(body: bytes) -> Any:
    """The JSON document in `body`, or `MalformedPayload`."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}") from exc


def require(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    """`obj[key]`, checked to be a `kind`; `MalformedPayload` naming `where.key` otherwise."""
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise MalformedPayload(f"{where}.{key}: expected {kind.__name__}")
    return value


def as_object(value: Any, where: str) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else `MalformedPayload` naming `where`."""
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where}: expected an object")
    return value


def parse_iso(value: Any, where: str) -> datetime:
    """An ISO-8601 time (a trailing Z allowed) as an aware UTC datetime."""
    if not isinstance(value, str):
        raise MalformedPayload(f"{where}: expected an ISO-8601 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedPayload(f"{where}: not an ISO-8601 time: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_unix(value: Any, where: str) -> datetime:
    """Unix seconds (int or float) as an aware UTC datetime."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedPayload(f"{where}: expected unix seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedPayload(f"{where}: not a valid unix time") from exc
