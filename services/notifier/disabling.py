"""An endpoint's failure streak, and disabling one that keeps failing (with a notice).

Every failed attempt extends the endpoint's streak (`consecutive_failures`, from
`failing_since`); any success ends it. Once the streak has both at least
`disable_after_failures` attempts and lasted `disable_after_hours`, the endpoint is
disabled with the reason on it (`GET /webhook-endpoints/{id}`), its queue kept for when
it is enabled again. The notice: a `webhooks.endpoint_disabled` warning in the log, and
an `endpoint.disabled` webhook to the account's other endpoints that subscribe to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import structlog

from services.notifier.payloads import envelope
from services.notifier.queue import NewDelivery, enqueue, subscribers
from shared import metrics
from shared.outbound.event_types import WebhookEventType

log = structlog.get_logger(__name__)

SUCCEEDED = """
UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL
WHERE id = $1 AND consecutive_failures > 0
"""
FAILED = """
UPDATE webhook_endpoints
SET consecutive_failures = consecutive_failures + 1, failing_since = coalesce(failing_since, $2)
WHERE id = $1 RETURNING consecutive_failures, failing_since
"""
DISABLE = """
UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, disabled_at = $3,
    updated_at = $3
WHERE id = $1 AND status = 'enabled' RETURNING account_id, url
"""


@dataclass(frozen=True)
class DisablePolicy:
    """How long a streak of failures an endpoint is allowed."""

    failures: int
    hours: float

    def reached(self, failures: int, since: datetime, now: datetime) -> bool:
        """Whether a streak of `failures` begun at `since` disables the endpoint now."""
        return failures >= self.failures and now - since >= timedelta(hours=self.hours)


async def note_success(conn: asyncpg.Connection, endpoint: str) -> None:
    """End the endpoint's failure streak."""
    await conn.execute(SUCCEEDED, UUID(endpoint))


async def note_failure(
    conn: asyncpg.Connection, endpoint: str, now: datetime, policy: DisablePolicy
) -> bool:
    """Extend the streak; disable the endpoint when it is too long. True if disabled now."""
    streak = await conn.fetchrow(FAILED, UUID(endpoint), now)
    if streak is None or not policy.reached(streak[0], streak[1], now):
        return False
    reason = (
        f"disabled automatically: {streak[0]} failed attempts in a row "
        f"since {streak[1].isoformat()}"
    )
    row = await conn.fetchrow(DISABLE, UUID(endpoint), reason, now)
    if row is None:
        return False
    metrics.WEBHOOK_ENDPOINTS_DISABLED.inc()
    log.warning(
        "webhooks.endpoint_disabled",
        account_id=str(row["account_id"]),
        endpoint_id=endpoint,
        reason=reason,
    )
    await _notify(conn, row["account_id"], endpoint, row["url"], reason, now)
    return True


async def _notify(
    conn: asyncpg.Connection, account: UUID, endpoint: str, url: str, reason: str, now: datetime
) -> None:
    kind = WebhookEventType.ENDPOINT_DISABLED
    data = {"endpoint_id": endpoint, "url": url, "reason": reason, "disabled_at": now}
    body = envelope(kind, now, data)
    others = (await subscribers(conn, {account})).get(account, [])
    await enqueue(
        conn,
        [
            NewDelivery(uuid4(), s.endpoint_id, account, kind.value, 1, body)
            for s in others
            if s.wants(kind, now)
        ],
        "notice",
    )
