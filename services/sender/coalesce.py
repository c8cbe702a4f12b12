"""The ledger statements of concurrent batches, coalesced: one statement for many batches.

A sender works on up to `max_in_flight` batches at once, and each writes its ledger
rows (`services.sender.ledger`) at a few points of its life. Postgres' cost of a small
statement is mostly fixed (a round trip, executor start, a commit): 50 rows in one
statement cost little more than one. So a statement of one kind runs for every batch
waiting for it: while it runs, the batches that arrive queue, and the next statement
takes them all (at most `max_items`). There is no timer: a lone batch goes at once and
waits for nobody; under load, statements grow with the batches waiting. What a batch
waits for is still its own row's fate, and it waits until the statement committed, so
the order of the steps (and every guarantee built on it) is unchanged.

A statement that fails (Postgres away, or one item it cannot take) is run again item
by item, so each batch gets its own answer: one bad item never fails the others, and
each caller retries (`durable`) only what failed for it. A caller cancelled while its
item waits takes the item out; one whose statement already runs does not stop it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Statement = Callable[[list[T]], Awaitable[Sequence[R]]]


class Coalescer(Generic[T, R]):
    """Runs `statement` over the items waiting, one statement at a time.

    `statement(items)` answers one result per item, in order; a statement starts when
    `max_items` items wait or the first has waited `linger_s` seconds.
    """

    def __init__(
        self, statement: Statement[T, R], *, max_items: int = 64, linger_s: float = 0.0
    ) -> None:
        self._statement = statement
        self._max = max_items
        self._linger = linger_s
        # each waiting item with its future and the loop time it came
        self._waiting: deque[tuple[T, asyncio.Future[R], float]] = deque()
        self._running: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None  # the linger of the first waiting
        self.statements = 0  # run so far (for tests and the curious)

    async def submit(self, item: T) -> R:
        """`item`'s result, once a statement that held it committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        entry = (item, future, loop.time())
        self._waiting.append(entry)
        self._start()
        try:
            return await future
        except asyncio.CancelledError:
            self._forget(entry)  # a cancelled item neither lingers nor fills a statement
            raise

    def _forget(self, entry: tuple[T, asyncio.Future[R], float]) -> None:
        for i, waiting in enumerate(self._waiting):
            if waiting is entry:
                del self._waiting[i]
                return

    def _start(self) -> None:
        if self._running is not None or not self._waiting:
            return
        if self._linger > 0 and len(self._waiting) < self._max:
            loop = asyncio.get_running_loop()
            left = self._waiting[0][2] + self._linger - loop.time()
            if left > 0:
                if self._timer is None:
                    self._timer = loop.call_later(left, self._lingered)
                return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group: list[tuple[T, asyncio.Future[R]]] = []
        while self._waiting and len(group) < self._max:
            item, future, _ = self._waiting.popleft()
            if not future.cancelled():
                group.append((item, future))
        if not group:
            self._start()  # the cancelled ones are out; the rest (if any) linger on
            return
        self._running = asyncio.create_task(self._run(group))
        self._running.add_done_callback(self._finished)

    def _lingered(self) -> None:
        self._timer = None
        self._start()

    def _finished(self, _task: asyncio.Task[None]) -> None:
        self._running = None
        self._start()

    async def _run(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._execute([item for item, _ in group])
        except Exception as exc:
            if len(group) == 1:
                _fail(group[0][1], exc)
                return
            for one in group:  # each its own answer: one bad item fails nobody else
                await self._run([one])
            return
        except asyncio.CancelledError:
            for _, future in group:
                future.cancel()
            raise
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _execute(self, items: list[T]) -> Sequence[R]:
        self.statements += 1
        results = await self._statement(items)
        if len(results) != len(items):
            raise AssertionError(f"{len(results)} results for {len(items)} items")
        return results


def _fail(future: asyncio.Future[R], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
