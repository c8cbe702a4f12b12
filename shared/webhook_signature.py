"""The ESP simulator's webhook signature rule, shared by the simulator (signs) and
webhook_ingest (verifies).

`X-Simulator-Timestamp: <unix seconds>` and
`X-Simulator-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}." + raw body)>`;
several comma-separated values may be sent while a secret is rotated. Signing the
timestamp with the body lets a receiver refuse replays of old posts.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Simulator-Timestamp"
SIGNATURE_HEADER = "X-Simulator-Signature"
SCHEME = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` posted at `timestamp`: `v1=<hex>`."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def matches(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """True if one of the comma-separated values of `signature` signs `body` at `timestamp`."""
    expected = sign(secret, timestamp, body).encode()
    candidates = [part.strip().encode() for part in signature.split(",")]
    # every candidate is compared, so the timing does not reveal which one matched
    return sum(hmac.compare_digest(expected, candidate) for candidate in candidates) > 0


def verify(
    secret: str,
    timestamp: int,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float | None = 300,
    now: float | None = None,
) -> bool:
    """True if `signature` signs `body` at `timestamp`, and (with `tolerance_s`) that
    timestamp is within `tolerance_s` of `now`."""
    if tolerance_s is not None:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance_s:
            return False
    return matches(secret, timestamp, body, signature)
