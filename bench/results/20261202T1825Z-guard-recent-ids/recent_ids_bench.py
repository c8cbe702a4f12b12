"""The guard's recent event ids: cachetools' FIFOCache (before) against an OrderedDict (after).

200,000 ids remembered into 100,000 places, best of 5; run from the repository root:
`.venv/bin/python bench/results/20261202T1825Z-guard-recent-ids/recent_ids_bench.py`.
"""

from __future__ import annotations

import sys
import timeit
import uuid
from collections import OrderedDict

from cachetools import FIFOCache

from services.guard.recent import RecentIds

IDS = [uuid.uuid4() for _ in range(200_000)]
CAPACITY = 100_000


def fifo_cache() -> None:
    cache: FIFOCache[uuid.UUID, None] = FIFOCache(CAPACITY)
    for event_id in IDS:
        cache[event_id] = None


def ordered_dict() -> None:
    ids: OrderedDict[uuid.UUID, None] = OrderedDict()
    for event_id in IDS:
        if event_id in ids:
            ids.move_to_end(event_id)
        else:
            ids[event_id] = None
            if len(ids) > CAPACITY:
                ids.popitem(last=False)


def recent_ids() -> None:
    RecentIds(CAPACITY).remember(IDS)


for run in (fifo_cache, ordered_dict, recent_ids):
    best = min(timeit.repeat(run, number=1, repeat=5))
    sys.stdout.write(f"{run.__name__}: {best / len(IDS) * 1e6:.2f} µs per id\n")
