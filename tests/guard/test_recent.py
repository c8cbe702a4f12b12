"""`RecentIds` forgets exactly what cachetools' `FIFOCache` (what it replaced) forgets."""

from __future__ import annotations

from uuid import UUID

from cachetools import FIFOCache
from hypothesis import given
from hypothesis import strategies as st

from services.guard.recent import RecentIds

# a small pool of ids, so that calls repeat ids, fill the capacity and evict
IDS = st.integers(min_value=0, max_value=12).map(lambda n: UUID(int=n))


@given(
    capacity=st.integers(min_value=0, max_value=6),
    calls=st.lists(st.lists(IDS, max_size=8), max_size=12),
)
def test_remembers_what_a_fifo_cache_would(capacity: int, calls: list[list[UUID]]) -> None:
    recent = RecentIds(capacity)
    oracle: FIFOCache[UUID, None] | None = FIFOCache(capacity) if capacity else None
    for call in calls:
        recent.remember(iter(call))  # any iterable, read once
        for event_id in call:
            if oracle is not None:
                oracle[event_id] = None
        kept = set() if oracle is None else set(oracle)
        assert len(recent) == len(kept) <= capacity
        assert {UUID(int=n) for n in range(13) if UUID(int=n) in recent} == kept


def test_an_id_counted_again_is_the_newest() -> None:
    first, second, third = (UUID(int=n) for n in (1, 2, 3))
    recent = RecentIds(2)
    recent.remember([first, second, first])  # `first` again: `second` is now the oldest
    recent.remember([third])
    assert first in recent and third in recent and second not in recent
