"""The webhook signature rule shared by the simulator and anyone verifying its posts.

`X-Simulator-Timestamp: <unix seconds>` and
`X-Simulator-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}." + raw body)>`.
Signing the timestamp with the body lets a receiver refuse replays of old posts.
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


def verify(
    secret: str,
    timestamp: int,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float | None = 300,
    now: float | None = None,
) -> bool:
    """True if `signature` (one or more comma-separated `v1=` values) signs `body` at `timestamp`.

    With `tolerance_s`, a timestamp further than that from `now` is refused.
    """
    if tolerance_s is not None:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance_s:
            return False
    expected = sign(secret, timestamp, body)
    candidates = (part.strip() for part in signature.split(","))
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
