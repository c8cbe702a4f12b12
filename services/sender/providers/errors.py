"""Errors and helpers the HTTP ESP adapters share, beside the interface's own exceptions."""

from __future__ import annotations

import email.utils
import time


class ProviderRequestError(ValueError):
    """The provider refused the call itself and retrying it unchanged cannot help.

    Bad credentials (401/403) or a malformed request (400): a bug or a
    misconfiguration, not a property of the recipients. The message names the
    provider, the HTTP status and the provider's reason; it never holds secrets.
    """

    def __init__(self, provider: str, status_code: int, reason: str) -> None:
        super().__init__(f"{provider} refused the call (HTTP {status_code}): {reason}")
        self.provider = provider
        self.status_code = status_code
        self.reason = reason


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """The delay a `Retry-After` header asks for: delay-seconds or an HTTP date; None if absent."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
