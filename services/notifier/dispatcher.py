"""The delivery loop: take due deliveries, attempt each, record the outcome, repeat.

Each pass claims up to `max_in_flight` due deliveries and attempts them concurrently,
at most `endpoint_concurrency` at a time per endpoint. The outcome is written in one
transaction: the attempt in the log, the delivery succeeded / rescheduled (backoff) /
given up, the endpoint's failure streak (which may disable it). Everything lives in
Postgres, so a restart resumes exactly where the queue stands.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import structlog

from services.notifier.backoff import Jitter, default_jitter, next_attempt, retry_after_s
from services.notifier.claims import claim_due, record_attempt
from services.notifier.config import Settings
from services.notifier.disabling import DisablePolicy, note_failure, note_success
from services.notifier.sending import Claimed, Outcome, attempt
from shared import metrics
from shared.outbound.destinations import allows_private
from shared.outbound.secrets import SecretBox

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
NEXT_DUE = (
    "SELECT min(next_attempt_at) FROM webhook_deliveries "
    "WHERE status = 'pending' AND next_attempt_at > $1"
)


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class Dispatcher:
    """Delivers the queue of `webhook_deliveries`."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        box: SecretBox,
        client: httpx.AsyncClient,
        *,
        clock: Clock = utc_now,
        jitter: Jitter = default_jitter,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._box = box
        self._client = client
        self._clock = clock
        self._jitter = jitter
        policy = settings.delivery
        self._policy = DisablePolicy(policy.disable_after_failures, policy.disable_after_hours)
        self._lease = timedelta(seconds=policy.request_timeout_s * 2 + 30)
        self._allow_private = allows_private(settings.common)

    async def dispatch_once(self) -> int:
        """Attempt the deliveries due now; how many were attempted."""
        settings = self._settings
        claimed = await claim_due(self._pool, self._clock(), settings.max_in_flight, self._lease)
        per_endpoint: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.endpoint_concurrency)
        )

        async def one(delivery: Claimed) -> None:
            async with per_endpoint[delivery.endpoint_id]:
                await self._deliver(delivery)

        await asyncio.gather(*(one(delivery) for delivery in claimed))
        return len(claimed)

    async def next_due_in(self) -> float | None:
        """Seconds until the next pending delivery is due (a retry's time), None when none
        is. Past-due ones that were not claimed are waiting for their endpoint to be
        enabled again: nothing to wake for."""
        now = self._clock()
        due = await self._pool.fetchval(NEXT_DUE, now)
        return None if due is None else max(0.0, (due - now).total_seconds())

    async def _deliver(self, claimed: Claimed) -> None:
        now = self._clock()
        outcome = await attempt(
            self._client, claimed, self._box, now, allow_private=self._allow_private
        )
        next_at = None if outcome.succeeded else self._retry_at(claimed, outcome, self._clock())
        async with self._pool.acquire() as conn, conn.transaction():
            status = await record_attempt(conn, claimed, outcome, now, next_at)
            if outcome.succeeded:
                await note_success(conn, claimed.endpoint_id)
            else:
                await note_failure(conn, claimed.endpoint_id, now, self._policy)
        metrics.WEBHOOK_ATTEMPTS.labels("succeeded" if outcome.succeeded else "failed").inc()
        log.info(
            "webhooks.attempted",
            delivery_id=claimed.id,
            endpoint_id=claimed.endpoint_id,
            status=status,
            status_code=outcome.status_code,
            error=outcome.error,
        )

    def _retry_at(self, claimed: Claimed, outcome: Outcome, now: datetime) -> datetime | None:
        policy = self._settings.delivery
        return next_attempt(
            policy.retry_schedule_s,
            claimed.round_attempts + 1,
            now,
            jitter=policy.retry_jitter,
            spread=self._jitter,
            asked_s=retry_after_s(outcome.retry_after),
            max_asked_s=policy.max_retry_after_s,
        )

    async def purge(self) -> int:
        """Delete finished deliveries (and their attempts) and handled campaign changes
        past the retention period; how many deliveries."""
        cutoff = self._clock() - timedelta(days=self._settings.retention_days)
        done = await self._pool.execute(
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND completed_at < $1",
            cutoff,
        )
        await self._pool.execute("DELETE FROM campaign_changes WHERE notified_at < $1", cutoff)
        return int(done.split()[-1])
