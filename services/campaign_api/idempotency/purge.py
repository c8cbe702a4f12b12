"""The worker that deletes expired idempotency keys: at start, then every interval.

It runs beside the API in each instance; purging is a plain DELETE of rows whose
`expires_at` (set by the database's clock) has passed, so several instances doing
it at once only share the work.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from services.campaign_api.idempotency.store import purge_expired

log = structlog.get_logger(__name__)


async def run_purge(pool: asyncpg.Pool, stop: asyncio.Event, *, interval_s: float) -> None:
    """Purge expired keys now and then every `interval_s` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            purged = await purge_expired(pool)
            if purged:
                log.info("idempotency.purged", keys=purged)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning("idempotency.purge_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
