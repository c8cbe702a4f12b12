"""The webhook outbox's worker wakes at fill checks and flush deadlines, not at every event
that falls due nor at every add: a batch that fills by time passing is taken at the next
check, an add wakes the worker only for an event due before it wakes anyway."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.esp_simulator.events import OutcomeEvent
from services.esp_simulator.webhooks import DeliveryPolicy, Post, WebhookOutbox


class _Message:
    dialect = "simulator"


class Recorder:
    """A webhook format that posts nothing and notes when each batch was taken."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, int]] = []

    def posts(self, events: list[OutcomeEvent]) -> list[Post]:
        self.batches.append((time.monotonic(), len(events)))
        return []


def _events(count: int) -> list[OutcomeEvent]:
    message: Any = _Message()
    return [
        OutcomeEvent(key=i, type="delivered", message=message, occurred_at=0.0)
        for i in range(count)
    ]


@asynccontextmanager
async def _running(**policy: Any) -> AsyncIterator[tuple[WebhookOutbox, Recorder, list[int]]]:
    recorder = Recorder()
    outbox = WebhookOutbox(
        DeliveryPolicy(secret="s", **policy), lambda _: "", {"simulator": recorder}
    )
    wakes = [0]
    release = outbox._release_due

    def counted(now: float) -> None:
        wakes[0] += 1
        release(now)

    outbox._release_due = counted  # type: ignore[method-assign]
    task = asyncio.create_task(outbox.run())
    await asyncio.sleep(0)
    try:
        yield outbox, recorder, wakes
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_stream_of_adds_due_later_does_not_wake_the_worker_per_add() -> None:
    async with _running(batch_size=500, flush_s=1.0, fill_check_s=0.01) as (outbox, _, wakes):
        adds = 100
        for _ in range(adds):
            outbox.add_all([(5.0, e) for e in _events(10)], time.monotonic())
            await asyncio.sleep(0.002)
        # asleep until the first event is due (5 s): the adds, due later, leave it asleep
        assert wakes[0] <= 3
        assert outbox.pending == adds * 10


async def test_while_events_fall_due_the_worker_wakes_at_fill_checks_not_per_event() -> None:
    async with _running(batch_size=10_000, flush_s=5.0, fill_check_s=0.05) as (outbox, _, wakes):
        now = time.monotonic()
        # 2,000 events falling due one every 0.25 ms over half a second
        outbox.add_all([(0.01 + i * 0.00025, e) for i, e in enumerate(_events(2000))], now)
        await asyncio.sleep(0.6)
        # one wake per due event (each queue is one delay here), at most one a millisecond,
        # would be hundreds; fill checks every 50 ms are about a dozen
        assert wakes[0] <= 30


async def test_a_batch_filled_by_time_passing_is_taken_at_the_next_fill_check() -> None:
    async with _running(batch_size=500, flush_s=2.0, fill_check_s=0.01) as (outbox, rec, _):
        start = time.monotonic()
        events = _events(500)
        outbox.add_all([(0.02, e) for e in events[:250]] + [(0.1, e) for e in events[250:]], start)
        for _ in range(200):
            if rec.batches:
                break
            await asyncio.sleep(0.01)
        taken_at, size = rec.batches[0]
        assert size == 500
        # full once the second half falls due (0.1 s); the flush (2 s after the first) is far
        assert 0.09 <= taken_at - start < 1.0


async def test_an_add_due_before_the_worker_wakes_wakes_it() -> None:
    async with _running(batch_size=1, flush_s=2.0, fill_check_s=0.01) as (outbox, rec, _):
        outbox.add_all([(30.0, e) for e in _events(1)], time.monotonic())
        await asyncio.sleep(0.05)  # the worker sleeps until that event is due, in 30 s
        start = time.monotonic()
        outbox.add_all([(0.0, e) for e in _events(1)], start)
        for _ in range(200):
            if rec.batches:
                break
            await asyncio.sleep(0.01)
        assert rec.batches and rec.batches[0][0] - start < 1.0
