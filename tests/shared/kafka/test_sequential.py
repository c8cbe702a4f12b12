"""The sequential strategy under the runner, on a fake consumer: order, retries, dead letters."""

from __future__ import annotations

from shared.contracts.base import encode
from shared.contracts.deadletter import DeadLetter
from shared.contracts.events import EventBatch
from shared.kafka.strategies.sequential import Record, Sequential
from shared.kafka.strategy import Backoff, Context, StrategyFactory
from tests.shared.kafka.fakes import P0, P1, Harness, PinnedClock, eventually, polled_again, records
from tests.shared.kafka_helpers import sent_event


def values(*numbers: int) -> list[bytes]:
    return [encode(sent_event(n)) for n in numbers]


class Handler:
    """Remembers each call's (partition, offset) list; fails its first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[list[tuple[int, int]]] = []
        self.failures = failures

    async def __call__(self, batch: list[Record[EventBatch]]) -> None:
        self.calls.append([(r.partition, r.offset) for r in batch])
        if len(self.calls) <= self.failures:
            raise ConnectionError("store down (test)")

    def handled(self) -> list[tuple[int, int]]:
        """Every record of the calls that succeeded."""
        return [pair for call in self.calls[self.failures :] for pair in call]


def sequential(handler: Handler, clock: PinnedClock | None = None) -> StrategyFactory:
    def make(ctx: Context) -> Sequential[EventBatch]:
        backoff = Backoff(initial_s=5, max_s=20)
        if clock is None:
            return Sequential(ctx, model=EventBatch, handle=handler, backoff=backoff)
        return Sequential(ctx, model=EventBatch, handle=handler, backoff=backoff, clock=clock)

    return make


async def test_handle_records_in_order_then_commit_after() -> None:
    handler = Handler()
    kafka = Harness(sequential(handler))
    consumer = kafka.consumer
    consumer.feed(records(P0, values(1, 2, 3)) + records(P1, values(4, 5)))
    running = kafka.start()
    await eventually(lambda: len(handler.handled()) == 5)
    await eventually(lambda: bool(consumer.commits()))
    assert await running.stop() is None
    assert [p for p in handler.handled() if p[0] == 0] == [(0, 0), (0, 1), (0, 2)]
    assert [p for p in handler.handled() if p[0] == 1] == [(1, 0), (1, 1)]
    last: dict[object, int] = {}
    for commit in consumer.commits():
        for tp, offset in commit.items():
            assert offset > last.get(tp, -1), "commits only move forward"
            last[tp] = offset
    assert last == {P0: 3, P1: 2}


async def test_handler_failure_pauses_partitions_and_retries_same_records() -> None:
    handler, clock = Handler(failures=2), PinnedClock()
    kafka = Harness(sequential(handler, clock), pause_after_s=0)  # paused at once, still polled
    consumer = kafka.consumer
    consumer.feed(records(P0, values(1, 2)))
    running = kafka.start()
    await eventually(lambda: len(handler.calls) == 1 and consumer.paused() == {P0, P1})
    consumer.feed(records(P0, values(3), start=2))  # arrives while paused: not read yet
    clock.now += 4.9
    await polled_again(consumer)  # the back-off is not over: nothing is retried
    assert len(handler.calls) == 1 and not consumer.commits()
    clock.now += 0.2
    await eventually(lambda: len(handler.calls) == 2)  # retried, failed again: 10 s now
    clock.now += 10.1
    await eventually(lambda: len(handler.handled()) == 3)
    assert await running.stop() is None
    assert handler.calls[0] == handler.calls[1] == handler.calls[2] == [(0, 0), (0, 1)]
    assert handler.calls[3] == [(0, 2)], "the record polled after the resume comes after"
    assert consumer.resumes >= 1
    assert consumer.commits()[0] == {P0: 2}


async def test_invalid_record_dead_lettered_before_its_offset_is_committed() -> None:
    handler = Handler()
    kafka = Harness(sequential(handler), initial={P0})
    consumer, journal = kafka.consumer, kafka.journal
    consumer.feed(records(P0, [values(1)[0], b"\xff", values(2)[0]]))
    running = kafka.start()
    await eventually(lambda: {P0: 3} in consumer.commits())
    assert await running.stop() is None
    assert handler.handled() == [(0, 0), (0, 2)]
    kinds = [kind for kind, _ in journal]
    assert kinds.index("letter") < kinds.index("commit")
    ((topic, value, _),) = kafka.letters()
    letter = DeadLetter.model_validate_json(value)
    assert topic == "t.events.dlq" and letter.offset == 1 and letter.consumer_group == "g-test"


async def test_revoke_drains_buffered_records_and_commits_them() -> None:
    handler = Handler(failures=1)

    def quick(ctx: Context) -> Sequential[EventBatch]:
        return Sequential(ctx, model=EventBatch, handle=handler, backoff=Backoff(0.01, 0.01))

    kafka = Harness(quick, initial={P0}, drain_timeout_s=30)
    consumer, run = kafka.consumer, kafka.runner
    consumer.feed(records(P0, values(1, 2)))
    running = kafka.start()
    await eventually(lambda: len(handler.calls) == 1)
    await consumer.rebalance({P1})  # the failed records are retried inside the revocation
    assert handler.handled() == [(0, 0), (0, 1)]
    assert consumer.commits()[-1] == {P0: 2}
    assert run.assignment == {P1}
    assert await running.stop() is None
