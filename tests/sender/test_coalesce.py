"""Coalesced statements: the waiting items share one, a bad item fails only itself."""

from __future__ import annotations

import asyncio

import pytest

from services.sender.coalesce import Coalescer


class Statements:
    """A statement that records each group it ran, held at a gate until released."""

    def __init__(self, *, bad: str = "") -> None:
        self.groups: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.bad = bad

    async def __call__(self, items: list[str]) -> list[str]:
        self.groups.append(list(items))
        await self.gate.wait()
        if self.bad in items:
            raise ValueError(f"cannot take {self.bad}")
        return [item.upper() for item in items]


async def test_coalesce_runs_a_lone_item_at_once_and_the_waiting_ones_together() -> None:
    run = Statements()
    coalescer = Coalescer(run, max_items=3)
    assert await coalescer.submit("a") == "A"  # alone, nobody waited for
    run.gate.clear()
    first = asyncio.create_task(coalescer.submit("b"))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(coalescer.submit(x)) for x in "cdefg"]
    await asyncio.sleep(0)
    run.gate.set()
    assert await first == "B"
    assert await asyncio.gather(*waiting) == list("CDEFG")
    # the five that waited went in two statements of at most three, in arrival order
    assert run.groups == [["a"], ["b"], ["c", "d", "e"], ["f", "g"]]
    assert coalescer.statements == 4


async def test_coalesce_bad_item_fails_alone_and_the_others_get_their_results() -> None:
    run = Statements(bad="x")
    coalescer = Coalescer(run)
    run.gate.clear()
    first = asyncio.create_task(coalescer.submit("a"))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(coalescer.submit(x)) for x in ("b", "x", "c")]
    await asyncio.sleep(0)
    run.gate.set()
    assert await first == "A"
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert results[0] == "B" and results[2] == "C"
    assert isinstance(results[1], ValueError)
    assert run.groups == [["a"], ["b", "x", "c"], ["b"], ["x"], ["c"]]
    assert await coalescer.submit("d") == "D"  # and it goes on


async def test_coalesce_cancelled_caller_takes_its_waiting_item_out() -> None:
    run = Statements()
    coalescer = Coalescer(run)
    run.gate.clear()
    first = asyncio.create_task(coalescer.submit("a"))
    await asyncio.sleep(0)
    gone = asyncio.create_task(coalescer.submit("b"))
    kept = asyncio.create_task(coalescer.submit("c"))
    await asyncio.sleep(0)
    gone.cancel()
    run.gate.set()
    assert (await first, await kept) == ("A", "C")
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert run.groups == [["a"], ["c"]]
