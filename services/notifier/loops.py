"""Repeating a step until stopped: at once while it finds work, then every interval."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

Step = Callable[[], Awaitable[int]]


async def repeat(name: str, step: Step, stop: asyncio.Event, interval_s: float) -> None:
    """Run `step` until `stop`; it runs again at once when it did some work (>0), else
    after `interval_s`. A failing step (Postgres away) is logged and tried again."""
    while not stop.is_set():
        try:
            worked = await step()
        except Exception as exc:  # noqa: BLE001 - a loop that dies stops all notices
            log.warning("notifier.step_failed", step=name, error=f"{type(exc).__name__}: {exc}")
            worked = 0
        if worked:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
