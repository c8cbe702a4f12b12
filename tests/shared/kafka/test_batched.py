"""The batched strategy under the runner, on a fake consumer: size, age, order, retries."""

from __future__ import annotations

import asyncio

import pytest

from shared.contracts.base import ContractError
from shared.kafka.strategies.batch import Batch
from shared.kafka.strategies.batched import Batched
from shared.kafka.strategy import Backoff, Context, KafkaRecord, StrategyFactory
from tests.shared.kafka.fakes import (
    P0,
    P1,
    Harness,
    Journal,
    PinnedClock,
    eventually,
    polled_again,
    records,
)


class Store:
    """Values are `b"<weight>"`; `b"x"` breaks the contract, `b"strict-x"` only the strict one.

    `write` journals (token, values); `hold` keeps writes waiting; `failures` refuses the
    first writes.
    """

    def __init__(self, failures: int = 0) -> None:
        self.journal: Journal = []  # the harness's too: writes and commits in order
        self.failures = failures
        self.hold = asyncio.Event()
        self.hold.set()
        self.tokens: list[str] = []

    def decode(self, record: KafkaRecord) -> tuple[bytes, int]:
        if record.value == b"x":
            raise ContractError("not an event (test)")
        value = record.value or b""
        return value, int(value) if value.isdigit() else 1

    def recheck(self, record: KafkaRecord) -> tuple[bytes, int]:
        if record.value == b"strict-x":
            raise ContractError("out of range (test)")
        return self.decode(record)

    async def write(self, batch: Batch[bytes]) -> None:
        await self.hold.wait()
        self.tokens.append(batch.token())
        if len(self.tokens) <= self.failures:
            raise ConnectionError("ClickHouse unavailable (test)")
        self.journal.append(("write", list(batch.values())))

    def writes(self) -> list[list[bytes]]:
        return [entry for kind, entry in self.journal if kind == "write"]


def batched(store: Store, clock: PinnedClock, max_weight: int = 10) -> StrategyFactory:
    def make(ctx: Context) -> Batched[bytes]:
        return Batched(
            ctx,
            step=store,
            max_weight=max_weight,
            max_seconds=2.0,
            backoff=Backoff(0.001, 0.001),
            clock=clock,
        )

    return make


async def test_write_when_full_then_commit_after_the_write() -> None:
    store, clock = Store(), PinnedClock()
    kafka = Harness(batched(store, clock), journal=store.journal, initial={P0})
    consumer = kafka.consumer
    consumer.feed(records(P0, [b"4", b"4", b"4"]))
    running = kafka.start()
    await eventually(lambda: bool(store.writes()))
    await eventually(lambda: bool(consumer.commits()))
    assert await running.stop() is None
    assert store.writes()[0] == [b"4", b"4", b"4"]
    journal = store.journal
    assert journal.index(("commit", {P0: 3})) > journal.index(("write", [b"4", b"4", b"4"]))


@pytest.mark.parametrize("up_for", [1000.0, 0.25], ids=["long-up", "fresh-boot"])
async def test_write_when_the_first_record_is_old_enough(up_for: float) -> None:
    store, clock = Store(), PinnedClock()
    clock.now = up_for  # monotonic time counts from the boot
    kafka = Harness(batched(store, clock), journal=store.journal, initial={P0})
    consumer = kafka.consumer
    consumer.feed(records(P0, [b"1"]))
    running = kafka.start()
    await polled_again(consumer)
    assert store.writes() == [], "neither full nor old"
    clock.now += 2.0
    await eventually(lambda: {P0: 1} in consumer.commits())
    assert await running.stop() is None
    assert store.writes() == [[b"1"]]


async def test_next_batch_fills_while_one_is_written_and_commits_stay_in_order() -> None:
    store, clock = Store(), PinnedClock()
    store.hold.clear()
    kafka = Harness(batched(store, clock, max_weight=6), journal=store.journal)
    consumer, run = kafka.consumer, kafka.runner
    running = kafka.start()
    consumer.feed(records(P0, [b"3", b"3"]))
    await eventually(lambda: run.assignment == {P0, P1} and consumer.polls > 2)
    consumer.feed(records(P1, [b"3", b"3", b"3"]))
    await eventually(lambda: len(consumer.queued[P1]) == 1)  # k written, k+1 full: wait
    polls = consumer.polls
    await asyncio.sleep(0.05)
    assert consumer.polls <= polls + 1 and consumer.queued[P1], "not polled while full"
    assert store.writes() == [] and consumer.commits() == []
    store.hold.set()
    await eventually(lambda: not consumer.queued[P1])  # room again: the last record is read
    clock.now += 2.0  # and old enough to be written
    await eventually(lambda: consumer.latest() == {P0: 2, P1: 3})
    assert await running.stop() is None
    assert store.writes()[0] == [b"3", b"3"]
    assert sum(store.writes(), []) == [b"3"] * 5
    assert consumer.commits()[0] == {P0: 2}, "batch k is committed before batch k+1"
    assert consumer.pauses == 0


async def test_refused_write_retried_with_same_token_after_strict_recheck() -> None:
    store, clock = Store(failures=3), PinnedClock()
    kafka = Harness(batched(store, clock), journal=store.journal, initial={P0})
    consumer = kafka.consumer
    consumer.feed(records(P0, [b"5", b"strict-x", b"x", b"5"]))
    running = kafka.start()
    await eventually(lambda: {P0: 4} in consumer.commits())
    assert await running.stop() is None
    first, rebuilt, *retries = store.tokens
    assert rebuilt != first and rebuilt.endswith("-rebuilt1")
    assert retries == [rebuilt, rebuilt], "every retry of the same body has the same token"
    assert store.writes() == [[b"5", b"5"]]
    letters = [value for _, value, _ in kafka.letters()]
    assert len(letters) == 2 and any(b"out of range" in v for v in letters)
    kinds = [kind for kind, _ in store.journal]
    assert max(i for i, k in enumerate(kinds) if k == "letter") < kinds.index("commit")


async def test_revoke_writes_pending_records_and_commits_them() -> None:
    store, clock = Store(), PinnedClock()
    kafka = Harness(batched(store, clock), journal=store.journal, initial={P0})
    consumer = kafka.consumer
    consumer.feed(records(P0, [b"1", b"1"]))
    running = kafka.start()
    await eventually(lambda: consumer.polls > 3)
    assert store.writes() == []
    await consumer.rebalance({P1})
    assert store.writes() == [[b"1", b"1"]]
    assert consumer.commits() == [{P0: 2}]
    assert await running.stop() is None


def test_token_is_the_offset_ranges() -> None:
    def batch(*offsets: int) -> Batch[bytes]:
        built: Batch[bytes] = Batch()
        for record in records(P0, [b"1"] * len(offsets), start=offsets[0]):
            built.add(built.note(record, 0.0), record, b"1", 1)
        return built

    assert batch(3, 4).token() == batch(3, 4).token()
    assert batch(3, 4).token() != batch(3, 4, 5).token()
    assert batch(3, 4).next_offsets() == {P0: 5}


class OverlappingStore(Store):
    """Each write waits for its own release (keyed by its first value), so writes can be
    made to overlap and to finish out of order."""

    def __init__(self) -> None:
        super().__init__()
        self.releases: dict[bytes, asyncio.Event] = {}
        self.running: set[bytes] = set()
        self.most_at_once = 0

    async def write(self, batch: Batch[bytes]) -> None:
        first = next(iter(batch.values()))
        self.running.add(first)
        self.most_at_once = max(self.most_at_once, len(self.running))
        await self.releases.setdefault(first, asyncio.Event()).wait()
        self.running.discard(first)
        await super().write(batch)


def overlapping(store: Store, clock: PinnedClock, max_writes: int) -> StrategyFactory:
    def make(ctx: Context) -> Batched[bytes]:
        return Batched(
            ctx,
            step=store,
            max_weight=5,
            max_seconds=2.0,
            backoff=Backoff(0.001, 0.001),
            weight_hint=5.0,  # a poll takes one record: each makes a batch of its own
            max_writes=max_writes,
            clock=clock,
        )

    return make


async def test_two_writes_overlap_and_a_later_one_done_first_waits_to_be_committed() -> None:
    store, clock = OverlappingStore(), PinnedClock()
    kafka = Harness(overlapping(store, clock, 2), journal=store.journal, initial={P0})
    consumer = kafka.consumer
    consumer.feed(records(P0, [b"5", b"6", b"7"]))  # three full batches
    running = kafka.start()
    await eventually(lambda: store.running == {b"5", b"6"})  # two at once, not three
    await asyncio.sleep(0.05)  # the third is full and waits: the runner is not polling
    assert store.running == {b"5", b"6"} and store.most_at_once == 2
    store.releases[b"6"].set()  # the second batch is written first
    await eventually(lambda: b"7" in store.running)  # its slot went to the third
    await asyncio.sleep(0.05)
    assert consumer.commits() == [], "batch 2 written, but batch 1 is not: nothing to commit"
    store.releases[b"5"].set()
    await eventually(lambda: consumer.latest() == {P0: 2})  # batches 1 and 2 together
    store.releases[b"7"].set()
    await eventually(lambda: consumer.latest() == {P0: 3})
    assert await running.stop() is None
    assert store.writes() == [[b"6"], [b"5"], [b"7"]]
    assert [offsets[P0] for offsets in consumer.commits()] == sorted(
        offsets[P0] for offsets in consumer.commits()
    )


async def test_one_write_at_a_time_by_default() -> None:
    store, clock = OverlappingStore(), PinnedClock()
    kafka = Harness(overlapping(store, clock, 1), journal=store.journal, initial={P0})
    consumer = kafka.consumer
    consumer.feed(records(P0, [b"5", b"6"]))
    running = kafka.start()
    await eventually(lambda: store.running == {b"5"})
    await asyncio.sleep(0.05)
    assert store.running == {b"5"}, "the second full batch waits for the first write"
    store.releases[b"5"].set()
    await eventually(lambda: store.running == {b"6"})
    store.releases[b"6"].set()
    await eventually(lambda: consumer.latest() == {P0: 2})
    assert await running.stop() is None
    assert store.most_at_once == 1 and store.writes() == [[b"5"], [b"6"]]


async def test_revoke_waits_for_every_running_write_then_commits_in_order() -> None:
    store, clock = OverlappingStore(), PinnedClock()
    kafka = Harness(overlapping(store, clock, 2), journal=store.journal, initial={P0})
    consumer = kafka.consumer
    consumer.feed(records(P0, [b"5", b"6", b"1"]))  # two full batches and a pending one
    running = kafka.start()
    await eventually(lambda: store.running == {b"5", b"6"})
    for key in (b"6", b"5", b"1"):
        store.releases.setdefault(key, asyncio.Event()).set()
    await consumer.rebalance({P1})
    assert sorted(store.writes()) == [[b"1"], [b"5"], [b"6"]]
    assert consumer.latest() == {P0: 3}
    assert await running.stop() is None


def test_max_writes_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_writes"):
        Batched(Context.__new__(Context), step=Store(), max_weight=1, max_seconds=1.0, max_writes=0)
