"""Signed one-click unsubscribe tokens (RFC 8058 links).

A token names the account, campaign, lead and address; it is an HMAC-SHA256
signature over those fields, so webhook_ingest can suppress the address
without any lookup table and nobody can forge a token for another address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from uuid import UUID


class InvalidToken(ValueError):
    """The token is malformed or its signature does not match."""


@dataclass(frozen=True)
class UnsubscribeClaim:
    """Who asked to unsubscribe, from which campaign."""

    account_id: UUID
    campaign_id: UUID
    lead_id: UUID
    email: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), b"unsubscribe:" + payload, hashlib.sha256).digest()[:16]


def make_token(secret: str, claim: UnsubscribeClaim) -> str:
    """A URL-safe token carrying `claim`, signed with `secret`."""
    payload = "|".join(
        (str(claim.account_id), str(claim.campaign_id), str(claim.lead_id), claim.email)
    ).encode()
    return f"{_b64(payload)}.{_b64(_sign(secret, payload))}"


def verify_token(secret: str, token: str) -> UnsubscribeClaim:
    """The claim inside `token`; raises `InvalidToken` unless the signature matches."""
    try:
        body, signature = token.split(".", 1)
        payload = _unb64(body)
        given = _unb64(signature)
    except (ValueError, UnicodeError) as exc:
        raise InvalidToken("malformed unsubscribe token") from exc
    if not hmac.compare_digest(given, _sign(secret, payload)):
        raise InvalidToken("unsubscribe token signature does not match")
    try:
        account, campaign, lead, email = payload.decode().split("|", 3)
        return UnsubscribeClaim(UUID(account), UUID(campaign), UUID(lead), email)
    except ValueError as exc:
        raise InvalidToken("malformed unsubscribe token") from exc


def unsubscribe_url(base_url: str, token: str) -> str:
    """The HTTPS (in production) link recipients follow or mail clients POST to."""
    return f"{base_url.rstrip('/')}/unsubscribe/{token}"
