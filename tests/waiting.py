"""Waiting in tests on what other processes do: a service answering its `/healthz`, and a
condition that is reached by progress (bounded by the progress stopping, not by the clock).

A wait bounded by a fixed wall time fails on a loaded machine although nothing is wrong;
`until_progressing` fails only when the work it watches has stopped moving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

START_S = 90.0  # as `fanout stack up` waits for a service (fanout_cli/stack/orchestrate.py)
STALL_S = 60.0  # no progress at all for this long: the work is stuck, not slow


async def wait_healthy(
    url: str, *, timeout_s: float = START_S, details: Callable[[], str] | None = None
) -> None:
    """Return once `GET {url}/healthz` answers 200; fail after `timeout_s` naming `url` and
    `details()` (a service's log tail, say)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        while loop.time() < deadline:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    more = f":\n{details()}" if details is not None else ""
    raise AssertionError(f"{url}/healthz did not answer 200 within {timeout_s:.0f} s{more}")


async def until_progressing(
    done: Callable[[], Awaitable[bool]],
    progress: Callable[[], Awaitable[object]],
    what: str,
    *,
    stall_s: float = STALL_S,
    every_s: float = 0.05,
) -> None:
    """Poll `done()` until true. Fail naming `what` only when `progress()` (any comparable
    snapshot of the work: counters, a row) has not changed for `stall_s` seconds."""
    loop = asyncio.get_running_loop()
    seen = await progress()
    moved_at = loop.time()
    while not await done():
        now = await progress()
        if now != seen:
            seen, moved_at = now, loop.time()
        elif loop.time() - moved_at > stall_s:
            raise AssertionError(f"no {what}: no progress for {stall_s:.0f} s (last: {seen})")
        await asyncio.sleep(every_s)
