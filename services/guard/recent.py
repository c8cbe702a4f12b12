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

An `OrderedDict` kept in insertion order, not cachetools' `FIFOCache`: the guard remembers
every event it counts, and the cache's size bookkeeping cost 1.18 µs per id against
0.30 here (200,000 ids into 100,000 places, best of 5; bench/results/20261202T1825Z-guard-
recent-ids). An id counted again moves to the newest end, as in `FIFOCache`.

The ids are their 128-bit integers, not `UUID` objects (the guard's facts carry them so).
A `UUID` is an object the cyclic garbage collector tracks, an int is not, and every full
collection walks every tracked object: with 500,000 ids remembered a full collection took
53.9 ms against 13.2 (ints), and in the guard of a 300k-email benchmark, where they were
most of its heap (303,000 tracked objects), 104–205 ms every ten seconds
(`collect_cycles`), idle or not. An int also hashes in C, where `UUID.__hash__` is Python
(2.7 % of the guard's profile).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class RecentIds:
    """The newest `capacity` counted event ids (0: remember none)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[int, None] = OrderedDict()

    def __contains__(self, event_id: int) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def remember(self, event_ids: Iterable[int]) -> None:
        """These ids (as integers, `UUID.int`) were counted (the oldest are forgotten beyond
        the capacity)."""
        if not self._capacity:
            return
        ids, capacity = self._ids, self._capacity
        for key in event_ids:
            if key in ids:
                ids.move_to_end(key)
                continue
            ids[key] = None
            if len(ids) > capacity:
                ids.popitem(last=False)
