"""The batched strategy under the runner, on a fake consumer: size, age, order, retries."""

from __future__ import annotations

import asyncio

from shared.contracts.base import ContractError
from shared.kafka.strategies.batch import Batch
from shared.kafka.strategies.batched import Batched
from shared.kafka.strategy import Backoff, Context, KafkaRecord, StrategyFactory
from tests.shared.kafka.fakes import (
    P0,
    P1,
    FakeConsumer,
    Journal,
    Running,
    eventually,
    polled_again,
    records,
    runner,
)


class Clock:
    """A pinned clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Store:
    """Values are `b"<weight>"`; `b"x"` breaks the contract, `b"strict-x"` only the strict one.

    `write` journals (token, values); `hold` keeps writes waiting; `failures` refuses the
    first writes.
    """

    def __init__(self, journal: Journal, failures: int = 0) -> None:
        self.journal = journal
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


def batched(store: Store, clock: Clock, max_weight: int = 10) -> StrategyFactory:
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
    journal: Journal = []
    consumer = FakeConsumer(journal, initial={P0})
    consumer.feed(records(P0, [b"4", b"4", b"4"]))
    store, clock = Store(journal), Clock()
    run, _ = runner(consumer, batched(store, clock))
    running = Running(run)
    await eventually(lambda: bool(store.writes()))
    await eventually(lambda: bool(consumer.commits()))
    assert await running.stop() is None
    assert store.writes()[0] == [b"4", b"4", b"4"]
    assert journal.index(("commit", {P0: 3})) > journal.index(("write", [b"4", b"4", b"4"]))


async def test_write_when_the_first_record_is_old_enough() -> None:
    journal: Journal = []
    consumer = FakeConsumer(journal, initial={P0})
    consumer.feed(records(P0, [b"1"]))
    store, clock = Store(journal), Clock()
    run, _ = runner(consumer, batched(store, clock))
    running = Running(run)
    await polled_again(consumer)
    assert store.writes() == [], "neither full nor old"
    clock.now += 2.0
    await eventually(lambda: {P0: 1} in consumer.commits())
    assert await running.stop() is None
    assert store.writes() == [[b"1"]]


async def test_next_batch_fills_while_one_is_written_and_commits_stay_in_order() -> None:
    journal: Journal = []
    consumer = FakeConsumer(journal)
    store, clock = Store(journal), Clock()
    store.hold.clear()
    run, _ = runner(consumer, batched(store, clock, max_weight=6))
    running = Running(run)
    consumer.feed(records(P0, [b"3", b"3"]))
    await eventually(lambda: run.assignment == {P0, P1} and consumer.polls > 2)
    consumer.feed(records(P1, [b"3", b"3", b"3"]))
    await eventually(lambda: consumer.paused() == {P0, P1})  # k written, k+1 full: pause
    assert store.writes() == [] and consumer.commits() == []
    store.hold.set()
    await eventually(lambda: not consumer.queued[P1])  # resumed: the last record is read
    clock.now += 2.0  # and old enough to be written
    await eventually(lambda: _latest(consumer) == {P0: 2, P1: 3})
    assert await running.stop() is None
    assert store.writes()[0] == [b"3", b"3"]
    assert sum(store.writes(), []) == [b"3"] * 5
    assert consumer.commits()[0] == {P0: 2}, "batch k is committed before batch k+1"
    assert consumer.resumes >= 1


async def test_refused_write_retried_with_same_token_after_strict_recheck() -> None:
    journal: Journal = []
    consumer = FakeConsumer(journal, initial={P0})
    consumer.feed(records(P0, [b"5", b"strict-x", b"x", b"5"]))
    store, clock = Store(journal, failures=3), Clock()
    run, _ = runner(consumer, batched(store, clock))
    running = Running(run)
    await eventually(lambda: {P0: 4} in consumer.commits())
    assert await running.stop() is None
    first, rebuilt, *retries = store.tokens
    assert rebuilt != first and rebuilt.endswith("-rebuilt1")
    assert retries == [rebuilt, rebuilt], "every retry of the same body has the same token"
    assert store.writes() == [[b"5", b"5"]]
    letters = [entry[1] for kind, entry in journal if kind == "letter"]
    assert len(letters) == 2 and any(b"out of range" in v for v in letters)
    kinds = [kind for kind, _ in journal]
    assert max(i for i, k in enumerate(kinds) if k == "letter") < kinds.index("commit")


async def test_revoke_writes_pending_records_and_commits_them() -> None:
    journal: Journal = []
    consumer = FakeConsumer(journal, initial={P0})
    consumer.feed(records(P0, [b"1", b"1"]))
    store, clock = Store(journal), Clock()
    run, _ = runner(consumer, batched(store, clock))
    running = Running(run)
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


def _latest(consumer: FakeConsumer) -> dict[object, int]:
    latest: dict[object, int] = {}
    for commit in consumer.commits():
        latest.update(commit)
    return latest
