"""One attempt: sign the stored body and POST it to the endpoint, classify the answer.

Any 2xx is a success; anything else (another status, a redirect, which is never
followed, a timeout, a refused connection, a destination refused by the SSRF check) is
a failure with a short reason for the delivery log. The response body is never read:
a receiver cannot make the notifier download anything. Secrets are opened here, used to
sign, and never put in a log line or an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from shared.outbound.destinations import DestinationRefused, check_resolved
from shared.outbound.secrets import SecretBox, SecretUnreadable
from shared.outbound.signing import webhook_headers

MAX_ERROR = 300  # characters of an error kept in the log


@dataclass(frozen=True)
class Claimed:
    """A due delivery and what sending it needs (the endpoint's URL, sealed secrets)."""

    id: str
    endpoint_id: str
    account_id: str
    body: str
    round_attempts: int
    url: str
    secret: bytes
    previous_secret: bytes | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    """What one attempt got."""

    succeeded: bool
    status_code: int | None
    latency_ms: int
    error: str | None
    retry_after: str | None = None


def signing_secrets(claimed: Claimed, box: SecretBox, now: datetime) -> list[str]:
    """The current secret, and the previous one while its rotation overlap lasts."""
    secrets = [box.open(claimed.secret)]
    expires = claimed.previous_secret_expires_at
    if claimed.previous_secret is not None and expires is not None and expires > now:
        secrets.append(box.open(claimed.previous_secret))
    return secrets


async def attempt(
    client: httpx.AsyncClient,
    claimed: Claimed,
    box: SecretBox,
    now: datetime,
    *,
    allow_private: bool,
) -> Outcome:
    """POST the delivery once; never raises for what the receiver or network did."""
    started = time.monotonic()

    def failed(error: str, code: int | None = None, retry_after: str | None = None) -> Outcome:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(False, code, elapsed, error[:MAX_ERROR], retry_after)

    try:
        await check_resolved(claimed.url, allow_private=allow_private)
        body = claimed.body.encode()
        headers = webhook_headers(
            signing_secrets(claimed, box, now), claimed.id, int(now.timestamp()), body
        )
        async with client.stream("POST", claimed.url, content=body, headers=headers) as answer:
            code = answer.status_code
            retry_after = answer.headers.get("retry-after")
    except DestinationRefused as exc:
        return failed(f"destination refused: {exc}")
    except SecretUnreadable as exc:
        return failed(str(exc))
    except httpx.TimeoutException:
        return failed("timed out")
    except httpx.HTTPError as exc:
        return failed(f"{type(exc).__name__}: {exc}")
    if 200 <= code < 300:
        return Outcome(True, code, int((time.monotonic() - started) * 1000), None)
    return failed(f"HTTP {code}", code, retry_after)
