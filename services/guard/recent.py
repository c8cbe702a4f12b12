"""Event ids counted lately: a re-published copy of an event is dropped, not counted again.

Kafka redelivery never repeats a count (the counted offsets move with the counters:
`shared.kafka.applied`). A copy of an event in a *new* record can still come: a provider
retries a webhook request whose events webhook_ingest had already published (its answer
was lost), and the copy carries the same deterministic event id, in a record of the same
key (the campaign and its first lead), so of the same partition and instance. Remembering
every id ever counted would mean a per-email table, which the design keeps out of
Postgres; copies come seconds to minutes after the original, so the guard remembers the
newest ids in a bounded FIFO. It starts empty: a copy whose original was counted before a
restart of the guard is counted again (the reports, which dedupe every id, stay exact;
the guard's rates may then read one event high).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from cachetools import FIFOCache


class RecentIds:
    """The newest `capacity` counted event ids (0: remember none)."""

    def __init__(self, capacity: int) -> None:
        self._ids: FIFOCache[UUID, None] | None = FIFOCache(capacity) if capacity else None

    def __contains__(self, event_id: object) -> bool:
        return self._ids is not None and event_id in self._ids

    def __len__(self) -> int:
        return 0 if self._ids is None else len(self._ids)

    def remember(self, event_ids: Iterable[UUID]) -> None:
        """These ids were counted (the oldest are forgotten beyond the capacity)."""
        if self._ids is None:
            return
        for event_id in event_ids:
            self._ids[event_id] = None
