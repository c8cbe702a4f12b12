"""The runner's watchdog: when a consumer that stopped making progress is rebuilt.

aiokafka recovers from most broker restarts by itself but not from every one
(aio-libs/aiokafka#703, #1154: a consumer that never fetches again). After
`stall_after_s` without progress (`shared.kafka.liveness`) the watchdog asks the
broker for metadata. If it answers, the consumer is stuck, not waiting for the
broker: the runner rebuilds it (logged, counted in `fanout_consumer_rebuilds_total`).
If not, the stall is the outage's; the clock restarts, so once the broker is back
the consumer gets the full time to recover by itself before being replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from shared import metrics
from shared.kafka.liveness import Liveness
from shared.periodic import stopped_within

log = structlog.get_logger(__name__)

BrokerProbe = Callable[[], Awaitable[bool]]
RESTART_BACKOFF_S = (1.0, 30.0)  # first and longest wait between attempts to start a consumer


class Watchdog:
    """Watches one runner's consumer through its `liveness`; asks `probe` about the broker."""

    def __init__(self, group: str, liveness: Liveness, probe: BrokerProbe) -> None:
        self._group = group
        self._liveness = liveness
        self._probe = probe
        self._delay = RESTART_BACKOFF_S[0]

    async def rebuild_due(self) -> bool:
        """True when the consumer is stalled and the broker answers."""
        if not self._liveness.stalled():
            return False
        if not await self._probe():
            self._liveness.excuse()
            log.warning("consumer.broker_unreachable", group=self._group)
            return False
        health = self._liveness.health().describe()
        log.warning("consumer.stalled", group=self._group, health=health)
        metrics.CONSUMER_REBUILDS.labels(self._group).inc()
        self._delay = RESTART_BACKOFF_S[0]
        return True

    async def before_retry(self, stop: asyncio.Event, error: str) -> None:
        """A new consumer did not start: wait (doubling, until `stop`) before the next one."""
        log.warning("consumer.restart_failed", group=self._group, error=error, retry_in=self._delay)
        await stopped_within(stop, self._delay)
        self._delay = min(self._delay * 2, RESTART_BACKOFF_S[1])
