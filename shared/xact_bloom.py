"""A Bloom filter of a table's keys, kept up by the transactions its last read could not see.

For a look-up that asks, per row of a large stream (every delivered address, every lead
of a page), whether a small table holds a key: the filter answers "certainly not" for
almost all of them in memory, and only the rest (the keys it holds, and about 1 % false
positives) are looked up in Postgres. It has no false negatives for any row committed
before its last catch-up.

Catching up by transaction, not by time: every row of the table carries the id of the
transaction that inserted it (`xact xid8 DEFAULT pg_current_xact_id()`). The statement
that reads rows also returns its snapshot: of the transactions before the snapshot's
`xmax` it saw every one that had committed, and none of those still running (its `xip`).
The next catch-up reads the rows of the transactions at or after that `xmax`, and of
those that were running: whatever committed since is in one of the two. The reading
transaction's own id counts as running (it is not in its own snapshot's `xip`, and what
it writes after the read is not in it). The snapshot's `xmin` bounds them all: every
transaction whose rows the filter may lack has an id at or above it.

The filter is sized for twice the rows of its first read (at least `min_capacity`) and
read whole again once it holds more than it was sized for. Rows are never removed from
it: a deleted row is one more false positive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from typing import Final

import asyncpg
import structlog
from rbloom import Bloom

log = structlog.get_logger(__name__)

FALSE_POSITIVE_RATE: Final = 0.01
READ_CHUNK: Final = 10_000

# What a snapshot `s` could not see, as columns: transactions from `xmax` on, and those in
# `xip` (with the reading transaction's own id, if it has one); `xmin` bounds them all.
SNAPSHOT = """
SELECT pg_snapshot_xmax(s)::text AS xmax, pg_snapshot_xmin(s)::text::bigint AS xmin,
       array(SELECT x::text FROM pg_snapshot_xip(s) AS x
             UNION ALL SELECT pg_current_xact_id_if_assigned()::text
             WHERE pg_current_xact_id_if_assigned() IS NOT NULL) AS xip
FROM pg_current_snapshot() AS s
"""


def unseen(xact: str, xmax: str, xip: str) -> str:
    """The condition on a row's `xact` column that it was written by a transaction a
    snapshot could not see, its `xmax` and `xip` the parameters named."""
    return f"({xact} >= {xmax}::text::xid8 OR {xact} = ANY({xip}::text[]::xid8[]))"


Key = Callable[[asyncpg.Record], Hashable]


class XactBloom:
    """The keys of a table's rows, as far as the last read could see.

    `whole`: the statement reading every row (the snapshot's columns of `SNAPSHOT` first,
    then the key's, NULL when there is no row: `SELECT n.*, r.k FROM (SNAPSHOT) n LEFT
    JOIN t r ON ...`); `since`: the same for the rows of the transactions the last read
    could not see (its last two parameters the last read's `xmax` and `xip`, see
    `unseen`); `count`: how many rows `whole` reads. Each gets the caller's arguments
    first. `key` makes a row's key, which `__contains__` is asked about.
    """

    def __init__(
        self, *, whole: str, since: str, count: str, key: Key, min_capacity: int, what: str
    ) -> None:
        self._whole, self._since, self._count, self._key = whole, since, count, key
        self._min_capacity = min_capacity
        self._what = what
        self._bloom: Bloom | None = None
        self._capacity = 0
        self._items = 0
        self._xmax = "0"
        self._xip: list[str] = []
        self._lock = asyncio.Lock()
        self.reads = 0  # whole reads (tests, logs)

    def __contains__(self, key: Hashable) -> bool:
        """False only if no row of `key` had committed at the last catch-up."""
        return self._bloom is None or key in self._bloom

    async def catch_up(self, conn: asyncpg.Connection, *args: object) -> int:
        """Add the rows committed since the last catch-up (every row the first time, and
        whenever the filter is full); the xmin of the snapshot read with. `conn` may be in
        a transaction: this only reads."""
        async with self._lock:
            if self._bloom is None or self._items > self._capacity:
                return await self._read_whole(conn, args)
            rows = await conn.fetch(self._since, *args, self._xmax, self._xip)
            self._items += _absorb(self._bloom, rows, self._key)
            return self._saw(rows[0])

    def _saw(self, snapshot: asyncpg.Record) -> int:
        """Remember what the snapshot of a read (its columns on each row) could not see."""
        self._xmax, self._xip = snapshot["xmax"], list(snapshot["xip"])
        xmin: int = snapshot["xmin"]
        return xmin

    async def _read_whole(self, conn: asyncpg.Connection, args: tuple[object, ...]) -> int:
        """Every row into a new filter, in one statement (a cursor, in a transaction of
        its own when `conn` is not in one)."""
        if not conn.is_in_transaction():
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await self._read_whole(conn, args)
        count = int(await conn.fetchval(self._count, *args))
        capacity = max(self._min_capacity, 2 * count)
        bloom = Bloom(capacity, FALSE_POSITIVE_RATE)
        items = 0
        cursor = await conn.cursor(self._whole, *args)
        first = await cursor.fetch(READ_CHUNK)  # the LEFT JOIN gives one row at least
        rows = first
        while rows:
            items += _absorb(bloom, rows, self._key)
            rows = await cursor.fetch(READ_CHUNK)
        self._bloom, self._capacity, self._items = bloom, capacity, items
        self.reads += 1
        log.info(f"{self._what}.read", rows=items, capacity=capacity)
        return self._saw(first[0])


def _absorb(bloom: Bloom, rows: Sequence[asyncpg.Record], key: Key) -> int:
    """Add the keys of `rows` (those with one: column 3 on, after the snapshot's); how many."""
    added = 0
    for row in rows:
        if row[3] is not None:
            bloom.add(key(row))
            added += 1
    return added
