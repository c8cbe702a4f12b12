"""A durable step: a plain call when it succeeds, retried with backoff while a dependency
fails, never retried on an error a retry cannot mend."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.sender.durable import durable


async def test_durable_retries_a_dependency_failure_with_backoff_and_raises_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) <= 3:
            raise asyncpg.exceptions.CannotConnectNowError("starting up")
        return "done"

    assert await durable(flaky) == "done"
    assert len(calls) == 4
    assert len(slept) == 3
    assert 1 <= slept[0] <= 2 and 2 <= slept[1] <= 3 and 4 <= slept[2] <= 5

    async def broken() -> None:
        calls.append(1)
        raise ValueError("not a dependency")

    calls.clear()
    slept.clear()
    with pytest.raises(ValueError, match="not a dependency"):
        await durable(broken)
    assert (len(calls), slept) == (1, [])

    async def fine() -> int:
        return 7

    assert await durable(fine) == 7
    assert slept == []
