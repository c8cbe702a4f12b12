"""`Every` on a clock pinned near zero: a job runs at once after boot, then once per interval."""

from __future__ import annotations

from shared.periodic import Every
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
