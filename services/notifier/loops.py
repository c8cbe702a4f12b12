"""Repeating a step until stopped: at once while it finds work, else when woken.

A step that found nothing waits for its wake-up (`shared.notifications.Wakeup`: the
writes it acts on announce themselves, and a reconnect of the listener counts too),
for the time its next known piece of work is due, or for `longest_s` seconds, whichever
comes first: the notifier does not poll Postgres every half second while idle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from shared.notifications import Wakeup

log = structlog.get_logger(__name__)

Step = Callable[[], Awaitable[int]]
DueIn = Callable[[], Awaitable[float | None]]  # seconds until work is due, None: none known
FAILED_RETRY_S = 1.0  # a failing step (Postgres away) is tried again this soon at most


async def repeat(
    name: str,
    step: Step,
    stop: asyncio.Event,
    wakeup: Wakeup,
    longest_s: float,
    due_in: DueIn | None = None,
) -> None:
    """Run `step` until `stop`; it runs again at once when it did some work (>0), else
    when `wakeup` fires, when `due_in` says work is due, or after `longest_s`. A failing
    step (Postgres away) is logged and tried again."""
    async with wakeup.running(stop):
        while not stop.is_set():
            try:
                if await step():
                    continue
                wait = await due_in() if due_in is not None else None
            except Exception as exc:  # noqa: BLE001 - a loop that dies stops all notices
                log.warning("notifier.step_failed", step=name, error=f"{type(exc).__name__}: {exc}")
                wait = FAILED_RETRY_S
            await wakeup.wait(stop, longest_s if wait is None else min(wait, longest_s))
