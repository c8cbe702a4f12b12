"""The checks every timestamp-signed webhook makes around its own signature rule.

Mailgun, SendGrid and the simulator sign a timestamp together with the post and differ
only in how the signature is computed. What they share lives here: a signature and a
timestamp must both be present, the timestamp must be unix seconds within the tolerance
(checked before the signature, so a captured post cannot be replayed later), and a
signature that does not verify is refused. A provider states only its names and its
signature rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from services.webhook_ingest.providers.base import Refusal, Unauthorized

K = TypeVar("K")


def require_fresh_timestamp(timestamp: str, label: str, tolerance_s: float, now: float) -> None:
    """Raise `Unauthorized` unless `timestamp` is unix seconds within `tolerance_s` of `now`."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Unauthorized(f"{label} is not unix seconds", Refusal.MALFORMED)
    if abs(now - int(timestamp)) > tolerance_s:
        raise Unauthorized(f"{label} is outside the allowed tolerance", Refusal.STALE)


def require_configured(key: K | None, problem: str) -> K:
    """The provider's key; while it is missing or unusable (`problem` says which), every
    post is refused."""
    if key is None:
        raise Unauthorized(problem, Refusal.NOT_CONFIGURED)
    return key


@dataclass(frozen=True)
class TimestampedSignature:
    """One provider's timestamped signature: the words of its refusals, its tolerance."""

    missing: str  # refusal when the signature or the timestamp is absent
    timestamp_label: str  # how a refusal names the timestamp
    mismatch: str  # refusal when the signature does not verify
    tolerance_s: float
    clock: Callable[[], float] = time.time

    def verify(self, timestamp: str, signature: str, valid: Callable[[str, str], bool]) -> None:
        """Refuse unless both are present, the timestamp is fresh and `valid(timestamp,
        signature)` (the provider's own rule) holds."""
        if not timestamp or not signature:
            raise Unauthorized(self.missing, Refusal.MISSING)
        require_fresh_timestamp(timestamp, self.timestamp_label, self.tolerance_s, self.clock())
        if not valid(timestamp, signature):
            raise Unauthorized(self.mismatch, Refusal.MISMATCH)
