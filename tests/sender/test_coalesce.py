"""Coalesced statements: the waiting items share one, a bad item fails only itself."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from services.sender.coalesce import Coalescer
from services.sender.config import Settings as SenderSettings


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


async def test_coalesce_linger_holds_a_lone_item_for_company_then_goes() -> None:
    run = Statements()
    coalescer = Coalescer(run, max_items=3, linger_s=0.3)
    loop = asyncio.get_running_loop()
    began = loop.time()
    first = asyncio.create_task(coalescer.submit("a"))
    await asyncio.sleep(0.05)
    assert run.groups == []  # still lingering
    second = asyncio.create_task(coalescer.submit("b"))
    assert (await first, await second) == ("A", "B")
    assert loop.time() - began >= 0.3  # the first item's linger, not the second's
    assert run.groups == [["a", "b"]]


async def test_coalesce_linger_ends_when_a_full_statement_waits() -> None:
    run = Statements()
    coalescer = Coalescer(run, max_items=3, linger_s=30.0)
    results = await asyncio.wait_for(
        asyncio.gather(*(coalescer.submit(x) for x in "abc")), timeout=5
    )
    assert results == ["A", "B", "C"]
    assert run.groups == [["a", "b", "c"]]
    # a cancelled caller leaves nothing behind: it neither fills a statement nor holds one
    gone = asyncio.create_task(coalescer.submit("d"))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await asyncio.wait_for(
        asyncio.gather(*(coalescer.submit(x) for x in "efg")), timeout=5
    ) == ["E", "F", "G"]
    assert run.groups == [["a", "b", "c"], ["e", "f", "g"]]


async def test_coalesce_items_that_waited_through_a_statement_go_without_lingering() -> None:
    run = Statements()
    coalescer = Coalescer(run, max_items=10, linger_s=0.2)
    loop = asyncio.get_running_loop()
    run.gate.clear()
    first = asyncio.create_task(coalescer.submit("a"))
    await asyncio.sleep(0.25)  # "a" lingered, its statement now runs (held at the gate)
    assert run.groups == [["a"]]
    waiting = [asyncio.create_task(coalescer.submit(x)) for x in "bc"]
    await asyncio.sleep(0.25)  # they wait out their linger behind the running statement
    released = loop.time()
    run.gate.set()
    assert await first == "A"
    assert await asyncio.gather(*waiting) == ["B", "C"]
    assert loop.time() - released < 0.15  # no second linger after the statement
    assert run.groups == [["a"], ["b", "c"]]


def test_sender_ledger_linger_defaults_to_50_ms_and_0_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SenderSettings().ledger_linger_s == 0.05  # the default docs/reliability.md names
    monkeypatch.setenv("FANOUT_SENDER_LEDGER_LINGER_S", "0")
    assert SenderSettings().ledger_linger_s == 0.0
    for bad in ("-0.01", "1.5"):
        monkeypatch.setenv("FANOUT_SENDER_LEDGER_LINGER_S", bad)
        with pytest.raises(ValidationError, match="ledger_linger_s"):
            SenderSettings()
