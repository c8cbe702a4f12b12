"""The shared send-rate budget: partition shares, AIMD on throttling, pacing."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.sender.rate import Aimd, SendRate, partition_share


def test_partition_share_adds_up_to_the_whole_budget() -> None:
    assert partition_share(6, 12) + partition_share(6, 12) == 1.0
    assert sum(partition_share(n, 12) for n in (5, 4, 3)) == 1.0
    assert partition_share(0, 12) == 0.0
    assert partition_share(3, 0) == 0.0


def test_set_share_scales_the_rate_on_rebalance() -> None:
    rate = SendRate(600)
    rate.set_share(12, 12)
    assert rate.rate_per_s == 600
    rate.set_share(4, 12)
    assert rate.rate_per_s == 200


def test_throttling_halves_once_per_cooldown_and_recovers_additively() -> None:
    now = [0.0]
    rate = SendRate(1000, Aimd(cooldown_s=1.0, increase=0.1), clock=lambda: now[0])
    rate.on_throttled()
    rate.on_throttled()  # the same burst of 429s counts once
    assert rate.factor == 0.5
    now[0] = 1.5
    rate.on_throttled()
    assert rate.factor == 0.25
    for _ in range(3):
        rate.on_accepted()
    assert abs(rate.factor - 0.55) < 1e-9
    for _ in range(20):
        rate.on_accepted()
    assert rate.factor == 1.0


def test_throttling_never_stops_sending() -> None:
    rate = SendRate(100, Aimd(min_factor=0.05, cooldown_s=0))
    for _ in range(50):
        rate.on_throttled()
    assert rate.factor == 0.05


async def test_acquire_paces_at_the_share() -> None:
    rate = SendRate(1000)
    rate.set_share(1, 2)  # 500/s, bucket of 200, starting spent
    began = time.monotonic()
    for _ in range(10):
        await rate.acquire(50)  # 500 emails paced at 500/s, none at once
    elapsed = time.monotonic() - began
    assert 0.9 <= elapsed < 1.5


async def test_a_new_share_starts_without_a_burst() -> None:
    """Every instance gets a new share at a re-split: a full bucket each would be a burst
    above the group's budget."""
    rate = SendRate(100)
    rate.set_share(1, 12)  # 8.3/s: its bucket of 50 takes 6 s to drain
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rate.acquire(50), timeout=0.2)


async def test_acquire_without_budget_does_not_wait() -> None:
    rate = SendRate(0)
    began = time.monotonic()
    for _ in range(100):
        await rate.acquire(50)
    assert time.monotonic() - began < 0.1
