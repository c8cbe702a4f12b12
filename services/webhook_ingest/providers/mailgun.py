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
from collections.abc import Callable, Mapping
from typing import Any

from cachetools import TTLCache

from services.webhook_ingest.providers.base import (
    MalformedPayload,
    Parsed,
    ProviderEvent,
    Refusal,
    Unauthorized,
    Verified,
)
from services.webhook_ingest.providers.fields import as_object, load_json, parse_unix, require
from services.webhook_ingest.providers.signed import TimestampedSignature, require_configured
from shared.contracts.events import EventType

SIMPLE = {
    "delivered": EventType.DELIVERED,
    "complained": EventType.COMPLAINED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
    "unsubscribed": EventType.UNSUBSCRIBED,
}


class TokenLedger:
    """Tokens seen within `ttl_s` (at most `size`; the least recently seen forgotten first)."""

    def __init__(
        self, ttl_s: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=size, ttl=ttl_s, timer=clock)

    def claim(self, token: str) -> bool:
        """Record `token`; False if it was already seen within the TTL."""
        if token in self._seen:
            return False
        self._seen[token] = True
        return True

    def release(self, token: str) -> None:
        """Forget `token`: the request was not recorded, so the provider's retry must pass."""
        self._seen.pop(token, None)


def signature_fields(document: Mapping[str, Any]) -> tuple[str, str, str]:
    """(timestamp, token, signature) of a post; `Unauthorized` if they are absent."""
    signature = document.get("signature")
    if not isinstance(signature, dict):
        raise Unauthorized("missing Mailgun signature object", Refusal.MISSING)
    fields = [signature.get(name) for name in ("timestamp", "token", "signature")]
    timestamp, token, digest = (str(f) if isinstance(f, str | int) else "" for f in fields)
    if not timestamp or not token or not digest:
        raise Unauthorized(
            "Mailgun signature needs timestamp, token and signature", Refusal.MISSING
        )
    return timestamp, token, digest


def _signs(key: str, signed: str, digest: str) -> bool:
    """Whether `digest` is the hex HMAC-SHA256 of `signed` with `key`."""
    expected = hmac.new(key.encode(), signed.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), digest.encode())


class MailgunProvider:
    """Mailgun's JSON webhooks (one event per post)."""

    name = "mailgun"
    summary = (
        "Mailgun's JSON webhooks: the body's `signature` object holds HMAC-SHA256(signing key, "
        "timestamp + token); the timestamp must be within the tolerance and each token is "
        "accepted once."
    )
    auth_headers: Mapping[str, str] = {}

    def __init__(
        self,
        signing_key: str,
        tolerance_s: float,
        ledger: TokenLedger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = signing_key
        self._ledger = ledger
        self._signed = TimestampedSignature(
            "Mailgun signature needs timestamp, token and signature",
            "Mailgun timestamp",
            "Mailgun signature does not match",
            tolerance_s,
            clock,
        )

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Verified:  # noqa: ARG002
        """The post, once its signature, its freshness and its token's novelty check out."""
        key = require_configured(
            self._key or None, "Mailgun webhooks are not configured (no signing key)"
        )
        document = as_object(load_json(body), "body")
        timestamp, token, digest = signature_fields(document)
        self._signed.verify(timestamp, digest, lambda ts, sig: _signs(key, ts + token, sig))
        if not self._ledger.claim(token):
            raise Unauthorized("Mailgun token was already used", Refusal.REPLAYED)
        return Verified(body, document, release=lambda: self._ledger.release(token))

    def parse(self, verified: Verified) -> Parsed:
        """The event of a verified post."""
        parsed = Parsed()
        parsed.take(verified.document.get("event-data"), "event-data", _event)
        return parsed


def _event(raw: Any, where: str) -> ProviderEvent | None:
    data = as_object(raw, where)
    fields = _fields(data, require(data, "event", str, where))
    if fields is None:
        return None
    message = data.get("message")
    headers = message.get("headers") if isinstance(message, dict) else None
    message_id = headers.get("message-id") if isinstance(headers, dict) else None
    variables = data.get("user-variables") or {}
    return ProviderEvent(
        provider=MailgunProvider.name,
        key=require(data, "id", str, where),
        email=require(data, "recipient", str, where),
        occurred_at=parse_unix(data.get("timestamp"), f"{where}.timestamp"),
        metadata=as_object(variables, f"{where}.user-variables"),
        provider_message_id=str(message_id or ""),
        where=where,
        **fields,
    )


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
