"""One way every webhook request ends: the response model, status codes and metrics.

401 bad or missing authentication (the body never says which check failed: the
reason goes to the log and to `fanout_webhook_refusals_total` only, so a caller
without credentials learns nothing), 403 an authentic sender we do not accept,
400 a malformed payload (the reason in `detail`), 503 when Postgres or Kafka
did not take the events (the provider retries; the body names no internal error),
200 once everything is durable.
Refusals are RFC 9457 problem documents (`shared.http.problems`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog
from fastapi import status
from pydantic import BaseModel, ConfigDict, Field

from services.webhook_ingest.normalize import Normalised
from services.webhook_ingest.providers.base import (
    Forbidden,
    MalformedPayload,
    Parsed,
    ProviderUnavailable,
    Unauthorized,
)
from services.webhook_ingest.recorder import RecordingFailed
from shared.http.problems import ProblemError
from shared.metrics import WEBHOOK_EVENTS, WEBHOOK_REFUSALS, WEBHOOKS

log = structlog.get_logger(__name__)

FAILURES: dict[type[Exception], tuple[int, str]] = {
    Unauthorized: (status.HTTP_401_UNAUTHORIZED, "unauthorized"),
    Forbidden: (status.HTTP_403_FORBIDDEN, "forbidden"),
    MalformedPayload: (status.HTTP_400_BAD_REQUEST, "malformed"),
    ProviderUnavailable: (status.HTTP_503_SERVICE_UNAVAILABLE, "unavailable"),
    RecordingFailed: (status.HTTP_503_SERVICE_UNAVAILABLE, "unavailable"),
}


class WebhookReceipt(BaseModel):
    """What was done with a webhook's events."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"emitted": 2, "unattributed": 0, "ignored": 1, "dead_lettered": 0}]
        }
    )

    emitted: int = Field(description="Events recorded on `email.events`.")
    unattributed: int = Field(description="Events of mail Fanout did not send (not emitted).")
    ignored: int = Field(description="Provider events that map to no email event.")
    dead_lettered: int = Field(
        description="Events that cannot be parsed, put on the dead-letter topic with the reason."
    )


@contextmanager
def webhook_outcome(provider: str) -> Iterator[None]:
    """Turn the provider and recording errors raised inside into their HTTP answers."""
    try:
        yield
    except tuple(FAILURES) as exc:
        code, result = FAILURES[type(exc)]
        WEBHOOKS.labels(provider, result).inc()
        refusal = exc.reason if isinstance(exc, Unauthorized) else None
        if refusal is not None:
            WEBHOOK_REFUSALS.labels(provider, refusal).inc()
        log.warning(
            "webhook.refused", provider=provider, status=code, refusal=refusal, reason=str(exc)
        )
        raise ProblemError(code, _detail(provider, code, exc), headers=_headers(code)) from exc


def _detail(provider: str, code: int, exc: Exception) -> str:
    """What the caller is told: the field at fault for a 400, nothing internal otherwise."""
    if code == status.HTTP_401_UNAUTHORIZED:
        return f"{provider}: missing or invalid authentication"
    if code == status.HTTP_503_SERVICE_UNAVAILABLE:
        return f"{provider}: the events could not be recorded now; retry later"
    return f"{provider}: {exc}"


def _headers(code: int) -> dict[str, str] | None:
    return {"Retry-After": "5"} if code == status.HTTP_503_SERVICE_UNAVAILABLE else None


def receipt(provider: str, parsed: Parsed, normalised: Normalised) -> WebhookReceipt:
    """The answer of an accepted webhook, counted."""
    WEBHOOKS.labels(provider, "accepted").inc()
    counts = {
        "emitted": len(normalised.events),
        "unattributed": normalised.unattributed,
        "ignored": parsed.ignored,
        "dead_lettered": len(parsed.rejected) + len(normalised.rejected),
    }
    for disposition, count in counts.items():
        if count:
            WEBHOOK_EVENTS.labels(provider, disposition).inc(count)
    return WebhookReceipt(**counts)
