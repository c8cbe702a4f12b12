"""Mailgun webhooks: HMAC-SHA256 of timestamp + token, fresh timestamps, single-use tokens.

The body is `{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}`.
A token is accepted once: `TokenLedger` remembers tokens for twice the
timestamp tolerance (after that the timestamp check refuses them anyway). It
lives in process memory, which is exact for one instance; with several
instances behind a load balancer a replay could reach another instance within
the tolerance, so there the ledger should move to a shared store (e.g. a
Postgres table with a unique token column and a TTL sweep).

Mapping: delivered; failed with severity permanent → hard bounce, temporary →
soft bounce; complained; opened; clicked; unsubscribed. Others (accepted,
rejected, stored, ...) are acknowledged, not emitted. Fanout's ids come from
`user-variables`; the event id from `event-data.id`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from services.webhook_ingest.providers.base import (
    MalformedPayload,
    Parsed,
    ProviderEvent,
    Unauthorized,
    as_object,
    load_json,
    parse_unix,
    require,
    require_fresh_timestamp,
)
from shared.contracts.events import EventType

PROVIDER = "mailgun"
SIMPLE = {
    "delivered": EventType.DELIVERED,
    "complained": EventType.COMPLAINED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
    "unsubscribed": EventType.UNSUBSCRIBED,
}


class TokenLedger:
    """Tokens seen recently (bounded, oldest forgotten first)."""

    def __init__(self, ttl_s: float, size: int) -> None:
        self._ttl = ttl_s
        self._size = size
        self._seen: OrderedDict[str, float] = OrderedDict()

    def claim(self, token: str, now: float | None = None) -> bool:
        """Record `token`; False if it was already seen within the TTL."""
        current = time.monotonic() if now is None else now
        while self._seen and next(iter(self._seen.values())) < current - self._ttl:
            self._seen.popitem(last=False)
        if token in self._seen:
            return False
        self._seen[token] = current
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True

    def release(self, token: str) -> None:
        """Forget `token`: the request was not recorded, so the provider's retry must pass."""
        self._seen.pop(token, None)


def signature_fields(body: bytes) -> tuple[str, str, str, Mapping[str, Any]]:
    """(timestamp, token, signature, document) of a body; `Unauthorized` if they are absent."""
    document = as_object(load_json(body), "body")
    signature = document.get("signature")
    if not isinstance(signature, dict):
        raise Unauthorized("missing Mailgun signature object")
    fields = [signature.get(name) for name in ("timestamp", "token", "signature")]
    timestamp, token, digest = (str(f) if isinstance(f, str | int) else "" for f in fields)
    if not timestamp or not token or not digest:
        raise Unauthorized("Mailgun signature needs timestamp, token and signature")
    return timestamp, token, digest, document


def verify(
    body: bytes,
    key: str,
    tolerance_s: float,
    ledger: TokenLedger,
    now: float | None = None,
) -> tuple[str, Mapping[str, Any]]:
    """(token, document) once the signature, its freshness and the token's novelty check out."""
    if not key:
        raise Unauthorized("Mailgun webhooks are not configured (no signing key)")
    timestamp, token, digest, document = signature_fields(body)
    require_fresh_timestamp(timestamp, "Mailgun timestamp", tolerance_s, now)
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), digest.encode()):
        raise Unauthorized("Mailgun signature does not match")
    if not ledger.claim(token):
        raise Unauthorized("Mailgun token was already used")
    return token, document


def _fields(data: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    status = data.get("delivery-status")
    status = status if isinstance(status, dict) else {}
    if kind in SIMPLE:
        return {"type": SIMPLE[kind], "reason": str(data.get("url") or status.get("message") or "")}
    if kind == "failed":
        severity = data.get("severity")
        if severity not in ("permanent", "temporary"):
            raise MalformedPayload("event-data.severity: expected permanent or temporary")
        detail = status.get("description") or status.get("message") or ""
        return {
            "type": EventType.BOUNCED,
            "bounce_type": "hard" if severity == "permanent" else "soft",
            "reason": f"{severity}/{data.get('reason') or ''}: {detail}".rstrip(": "),
        }
    return None


def parse(document: Mapping[str, Any]) -> Parsed:
    """The event of a verified post (Mailgun posts one event per request)."""
    where = "event-data"
    data = as_object(document.get("event-data"), where)
    fields = _fields(data, require(data, "event", str, where))
    if fields is None:
        return Parsed(ignored=1)
    message = data.get("message")
    headers = message.get("headers") if isinstance(message, dict) else None
    message_id = headers.get("message-id") if isinstance(headers, dict) else None
    variables = data.get("user-variables") or {}
    event = ProviderEvent(
        provider=PROVIDER,
        key=require(data, "id", str, where),
        email=require(data, "recipient", str, where),
        occurred_at=parse_unix(data.get("timestamp"), f"{where}.timestamp"),
        metadata=as_object(variables, f"{where}.user-variables"),
        provider_message_id=str(message_id or ""),
        where=where,
        **fields,
    )
    return Parsed([event])
