"""Reference cycles are collected on a clock (`shared.service.serve.collect_cycles`), not
only when allocations reach `tune_gc`'s threshold: aiokafka keeps fetched records in
cycles, and a service that frees everything else by reference counting had held them for
ever (the notifier: 6.4 GB)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from shared.service.serve import collect_cycles


class _Fetched:
    """Like aiokafka's partition records: the object and its own generator refer to
    each other, with the fetched bytes."""

    def __init__(self) -> None:
        self.payload = bytes(8 * 1024 * 1024)
        self.iterator = self._unpack()

    def _unpack(self) -> Iterator[int]:
        yield len(self.payload)


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    """Only explicit collections run (as under `tune_gc` when allocations stay low)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _freed_within(freed: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(freed.wait(), seconds)
    except TimeoutError:
        return False
    return True


@pytest.mark.usefixtures("no_automatic_gc")
async def test_a_dropped_cycle_is_freed_by_the_clock_not_before() -> None:
    freed = asyncio.Event()
    loop = asyncio.get_running_loop()
    fetched = _Fetched()
    weakref.finalize(fetched, loop.call_soon_threadsafe, freed.set)
    next(fetched.iterator)  # started, not run to its end: the cycle stays
    del fetched
    assert not await _freed_within(freed, 0.2)  # reference counting alone never frees it

    stop = asyncio.Event()
    collector = asyncio.create_task(collect_cycles(stop, every_s=0.05, full_every=3))
    try:
        assert await _freed_within(freed, 2.0)
    finally:
        stop.set()
        await asyncio.wait_for(collector, 1.0)


@pytest.mark.usefixtures("no_automatic_gc")
async def test_full_collections_come_every_nth_time() -> None:
    before = [s["collections"] for s in gc.get_stats()]
    stop = asyncio.Event()
    collector = asyncio.create_task(collect_cycles(stop, every_s=0.01, full_every=4))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(collector, 1.0)
    after = [s["collections"] for s in gc.get_stats()]
    middle, full = after[1] - before[1], after[2] - before[2]
    assert middle >= 6 and full >= 2
    assert 2 <= middle / full <= 4  # three middle collections to one full (timing slack)
