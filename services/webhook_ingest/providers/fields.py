"""Reading provider payloads: JSON, typed fields and times.

Every helper raises `MalformedPayload` naming the field at fault, so a provider's
parser stays a readable list of the fields it needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from services.webhook_ingest.providers.base import MalformedPayload


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


CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def uuid_text(value: str, where: str) -> str:
    """`value` as a UUID's canonical text (lower case, hyphenated), or `MalformedPayload`
    naming `where`. Text already canonical is returned as it is, without building a UUID."""
    if CANONICAL_UUID.match(value):
        return value
    try:
        return str(UUID(value))
    except ValueError as exc:
        raise MalformedPayload(f"{where}: not a UUID") from exc


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


# 10^11 s is the year 5138 and 10^11 ms is 1973: above it, a unix time is in milliseconds
MILLISECONDS_FROM = 10**11


def parse_unix(value: Any, where: str, *, milliseconds: bool = False) -> datetime:
    """Unix seconds (int or float) as an aware UTC datetime; with `milliseconds`, a value
    too large to be seconds is read as milliseconds (SendGrid's Single Sends send those)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedPayload(f"{where}: expected unix seconds")
    if milliseconds and abs(value) >= MILLISECONDS_FROM:
        value = value / 1000
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedPayload(f"{where}: not a valid unix time") from exc
