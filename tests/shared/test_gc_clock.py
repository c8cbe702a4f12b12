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
        assert await _freed_within(freed, 20.0)  # however slow the machine
    finally:
        stop.set()
        await asyncio.wait_for(collector, 1.0)


@pytest.mark.usefixtures("no_automatic_gc")
async def test_full_collections_come_every_nth_time() -> None:
    before = [s["collections"] for s in gc.get_stats()]

    def since(generation: int) -> int:
        return int(gc.get_stats()[generation]["collections"]) - int(before[generation])

    stop = asyncio.Event()
    collector = asyncio.create_task(collect_cycles(stop, every_s=0.01, full_every=4))
    async with asyncio.timeout(20):  # however slow the machine: until two full ones ran
        while since(2) < 2:
            await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(collector, 1.0)
    middle, full = since(1), since(2)
    # tick n is a full collection when n is a multiple of 4, a middle one otherwise
    assert full >= 2
    assert 3 * full <= middle <= 3 * full + 3
