"""Which addresses may have a soft-bounce run: a Bloom filter of `soft_bounces`' keys.

A delivery ends its address's run, if it has one (`soft_bounces.py`). Almost no delivered
address has one, and asking Postgres was an index probe per delivered address, the
largest part of this service's Postgres cost. Each instance keeps instead a Bloom filter
of every (account, address) in `soft_bounces` (no false negatives; about 1 % false
positives, which are probed as before), read whole once, then kept up to date before
each request's look-up by reading only the rows its previous read could not see.

Catching up by transaction, not by time: every row carries the id of the transaction
that inserted it (`xact`, migration 0018). A read's snapshot saw, of the transactions
before its `xmax`, every one that had committed, and not those still running (its
`xip`). So the next read takes the rows of transactions at or after that `xmax`, and of
those that were running: whatever committed since is in one of the two. The filter
then holds every row committed before the read; a delivery in a request whose catch-up
ran after a bounce's commit always finds that bounce's run, as the probe did. (A bounce
committing while the request runs is as concurrent as before: neither the probe nor the
filter sees it.)

The filter is sized for twice the rows of its first read (at least `min_capacity`) and
read whole again once it holds more than it was sized for. Rows are never removed from
it: an address whose row was deleted (its account was) is one more false positive.
"""

from __future__ import annotations

import asyncio
from typing import Final
from uuid import UUID

import asyncpg
import structlog
from rbloom import Bloom

log = structlog.get_logger(__name__)

Address = tuple[UUID, str]
FALSE_POSITIVE_RATE: Final = 0.01
LOAD_CHUNK: Final = 10_000

# What a snapshot could not see: transactions from its xmax on, and those running (its
# xip). The reading transaction's own id, if it has one, counts as running: it is not in
# its own snapshot's xip, and the rows it writes after this read are not seen by it.
_UNSEEN = """
pg_snapshot_xmax(s)::text AS xmax,
array(SELECT x::text FROM pg_snapshot_xip(s) AS x
      UNION ALL SELECT pg_current_xact_id_if_assigned()::text
      WHERE pg_current_xact_id_if_assigned() IS NOT NULL) AS xip
"""
# the rows of the transactions the last read could not see, and what this one cannot
CATCH_UP = f"""
WITH new_runs AS MATERIALIZED (
    SELECT account_id, email FROM soft_bounces
    WHERE xact >= $1::text::xid8 OR xact = ANY($2::text[]::xid8[])
)
SELECT {_UNSEEN},
       array(SELECT account_id FROM new_runs) AS accounts,
       array(SELECT email FROM new_runs) AS emails
FROM pg_current_snapshot() AS s
"""
# every row, and what the snapshot they were read with could not see, in one statement
READ_WHOLE = f"""
SELECT n.xmax, n.xip, r.account_id, r.email
FROM (SELECT {_UNSEEN} FROM pg_current_snapshot() AS s) AS n
LEFT JOIN soft_bounces r ON true
"""


def _key(account_id: UUID, email: str) -> tuple[int, str]:
    return (account_id.int, email)


class KnownRuns:
    """The addresses with a soft-bounce run, as far as the last catch-up could see."""

    def __init__(self, min_capacity: int = 100_000) -> None:
        self._min_capacity = min_capacity
        self._bloom: Bloom | None = None
        self._capacity = 0
        self._items = 0
        self._xmax = "0"
        self._xip: list[str] = []
        self._lock = asyncio.Lock()
        self.reads = 0  # whole reads of the table (tests, logs)

    def may_have(self, address: Address) -> bool:
        """False only if `address` had no run when the filter last caught up."""
        return self._bloom is None or _key(*address) in self._bloom

    async def catch_up(self, conn: asyncpg.Connection) -> None:
        """Add the runs committed since the last catch-up (the whole table the first time,
        and whenever the filter is full). `conn` may be in a transaction: only reads."""
        async with self._lock:
            if self._bloom is None or self._items > self._capacity:
                await self._read_whole(conn)
                return
            row = await conn.fetchrow(CATCH_UP, self._xmax, self._xip)
            assert row is not None
            bloom = self._bloom
            for account_id, email in zip(row["accounts"], row["emails"], strict=True):
                bloom.add(_key(account_id, email))
            self._items += len(row["accounts"])
            self._xmax, self._xip = row["xmax"], list(row["xip"])

    async def _read_whole(self, conn: asyncpg.Connection) -> None:
        """Read every row into a new filter, in one snapshot (a transaction of its own
        when `conn` is not in one: a cursor needs one)."""
        if conn.is_in_transaction():
            await self._read_cursor(conn)
        else:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                await self._read_cursor(conn)

    async def _read_cursor(self, conn: asyncpg.Connection) -> None:
        count = await conn.fetchval("SELECT count(*) FROM soft_bounces")
        capacity = max(self._min_capacity, 2 * int(count))
        bloom = Bloom(capacity, FALSE_POSITIVE_RATE)
        items = 0
        snapshot: asyncpg.Record | None = None
        cursor = await conn.cursor(READ_WHOLE)
        while rows := await cursor.fetch(LOAD_CHUNK):
            snapshot = snapshot or rows[0]
            for row in rows:
                if row["account_id"] is not None:
                    bloom.add(_key(row["account_id"], row["email"]))
                    items += 1
        assert snapshot is not None  # the LEFT JOIN gives the snapshot's row at least
        self._bloom, self._capacity, self._items = bloom, capacity, items
        self._xmax, self._xip = snapshot["xmax"], list(snapshot["xip"])
        self.reads += 1
        log.info("known_runs.read", runs=items, capacity=capacity, bits=bloom.size_in_bits)
