"""`RecentIds` forgets exactly what cachetools' `FIFOCache` (what it replaced) forgets."""

from __future__ import annotations

import gc
from uuid import uuid4

from cachetools import FIFOCache
from hypothesis import given
from hypothesis import strategies as st

from services.guard.recent import RecentIds

# a small pool of ids (as the guard keeps them: `UUID.int`), so that calls repeat ids, fill
# the capacity and evict
IDS = st.integers(min_value=0, max_value=12)


@given(
    capacity=st.integers(min_value=0, max_value=6),
    calls=st.lists(st.lists(IDS, max_size=8), max_size=12),
)
def test_remembers_what_a_fifo_cache_would(capacity: int, calls: list[list[int]]) -> None:
    recent = RecentIds(capacity)
    oracle: FIFOCache[int, None] | None = FIFOCache(capacity) if capacity else None
    for call in calls:
        recent.remember(iter(call))  # any iterable, read once
        for event_id in call:
            if oracle is not None:
                oracle[event_id] = None
        kept = set() if oracle is None else set(oracle)
        assert len(recent) == len(kept) <= capacity
        assert {n for n in range(13) if n in recent} == kept


def test_an_id_counted_again_is_the_newest() -> None:
    first, second, third = 1, 2, 3
    recent = RecentIds(2)
    recent.remember([first, second, first])  # `first` again: `second` is now the oldest
    recent.remember([third])
    assert first in recent and third in recent and second not in recent


def test_remembered_ids_add_nothing_for_the_garbage_collector_to_walk() -> None:
    """A full collection walks every tracked object: 10,000 remembered ids must not be
    10,000 more of them (the guard remembers 500,000 by default)."""
    recent = RecentIds(20_000)
    gc.collect()
    tracked_before = len(gc.get_objects())
    ids = [uuid4().int for _ in range(10_000)]
    recent.remember(ids)
    del ids
    gc.collect()
    assert len(recent) == 10_000
    assert len(gc.get_objects()) - tracked_before < 100
