"""Which campaigns are waiting on their provider: shown on the campaign row and in /metrics.

A batch waits on the provider while it sleeps before a retry the provider asked
for (429, a per-recipient `throttled` or transient answer, 5xx, a timeout). The
tracker counts those batches in memory, per provider for the gauges at once, and
per campaign for the campaign row. The row is written only by `flush`, which runs
with the progress flush about once a second, in one statement for all waiting
campaigns, never per email: it renews a lease (`provider_wait_until`, a few
seconds ahead) with the latest reason and keeps `provider_wait_since` while the
lease is unbroken. The API shows a campaign as waiting while its lease is in the
future, so every instance with waiting batches keeps it alive and it lapses by
itself once none has: no instance ever clears another's wait.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from shared import metrics

LEASE_S = 3.0

RENEW = """
UPDATE campaigns c SET provider_wait_reason = w.reason,
    provider_wait_since = CASE WHEN c.provider_wait_until > now() THEN c.provider_wait_since
                               ELSE now() END,
    provider_wait_until = now() + make_interval(secs => $3)
FROM unnest($1::uuid[], $2::text[]) AS w(id, reason)
WHERE c.id = w.id
"""


@dataclass(frozen=True)
class Wait:
    """One batch backing off before its next call."""

    campaign_id: UUID
    provider: str
    reason: str


class ProviderWaits:
    """Batches backing off, by campaign and provider."""

    def __init__(self) -> None:
        self._waits: dict[object, Wait] = {}
        self._providers: set[str] = set()  # gauges created so far, set back to 0 when idle

    def start(self, token: object, wait: Wait) -> None:
        """The batch `token` sleeps before a retry (replaces its previous wait)."""
        self._waits[token] = wait
        self._publish()

    def end(self, token: object) -> None:
        """The batch `token` calls again, or finished."""
        if self._waits.pop(token, None) is not None:
            self._publish()

    def campaigns(self) -> dict[UUID, str]:
        """Waiting campaigns and the reason of one of their waits."""
        return {w.campaign_id: w.reason for w in self._waits.values()}

    async def flush(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        """Renew the lease of every waiting campaign (one statement)."""
        waiting = self.campaigns()
        if not waiting:
            return
        ids = sorted(waiting)
        await conn.execute(RENEW, ids, [waiting[i][:1000] for i in ids], LEASE_S)

    def _publish(self) -> None:
        by_provider = Counter(w.provider for w in self._waits.values())
        self._providers.update(by_provider)
        for provider in self._providers:
            metrics.SEND_BATCHES_WAITING.labels(provider).set(by_provider.get(provider, 0))
        metrics.CAMPAIGNS_WAITING.set(len({w.campaign_id for w in self._waits.values()}))
