"""The workers that delete expired rows: at start, then every interval.

They run beside the API in each instance; purging is a plain DELETE of rows whose
expiry has passed, so several instances doing it at once only share the work. The
idempotency keys' and the dashboard sessions' purges share the loop (`purge_every`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

import asyncpg
import structlog

from services.campaign_api.idempotency.store import purge_expired
from shared.periodic import stopped_within

log = structlog.get_logger(__name__)


async def purge_every(
    purge: Callable[[], Awaitable[int]], what: str, stop: asyncio.Event, *, interval_s: float
) -> None:
    """Run `purge` (it answers how many rows it deleted) now and then every `interval_s`
    seconds until `stop` is set; logs `<what>.purged`, or `<what>.purge_failed` and goes on."""
    while not stop.is_set():
        try:
            purged = await purge()
            if purged:
                log.info(f"{what}.purged", rows=purged)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning(f"{what}.purge_failed", error=repr(exc))
        await stopped_within(stop, interval_s)


async def run_purge(pool: asyncpg.Pool, stop: asyncio.Event, *, interval_s: float) -> None:
    """Purge expired idempotency keys now and then every `interval_s` seconds."""
    await purge_every(partial(purge_expired, pool), "idempotency", stop, interval_s=interval_s)
