"""`Every` on a clock pinned near zero: a job runs at once after boot, then once per interval;
`stopped_within`, the wait between two runs of a worker's loop."""

from __future__ import annotations

import asyncio

from shared.periodic import Every, stopped_within
from tests.clock import BootClock


def test_every_is_due_at_once_on_a_fresh_boot() -> None:
    clock = BootClock(0.5)
    hourly = Every(3600.0, clock)
    assert hourly.take() is True
    assert hourly.take() is False


def test_every_is_due_again_after_its_interval() -> None:
    clock = BootClock(0.5)
    hourly = Every(3600.0, clock)
    hourly.take()
    clock.advance(3599.0)
    assert hourly.due() is False
    clock.advance(1.0)
    assert hourly.take() is True
    assert hourly.due() is False


def test_every_mark_restarts_the_interval() -> None:
    clock = BootClock(0.0)
    every = Every(5.0, clock)
    every.mark()  # run by something else (a rebalance sweep)
    clock.advance(4.0)
    assert every.due() is False
    clock.advance(1.0)
    assert every.due() is True


async def test_stopped_within_answers_false_when_the_time_passes() -> None:
    assert await stopped_within(asyncio.Event(), 0.01) is False


async def test_stopped_within_answers_true_as_soon_as_stop_is_set() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, stop.set)
    async with asyncio.timeout(30):  # far below the wait asked for: cut short by the stop
        assert await stopped_within(stop, 3600.0) is True
