"""Which addresses may have a soft-bounce run: a Bloom filter of `soft_bounces`' keys.

A delivery ends its address's run, if it has one (`soft_bounces.py`). Almost no delivered
address has one, and asking Postgres was an index probe per delivered address, the
largest part of this service's Postgres cost. Each instance keeps instead a filter of
every (account, address) in `soft_bounces` (`shared.xact_bloom`: no false negatives for
a row committed before its last catch-up; about 1 % false positives, which are probed as
before), read whole once, then caught up before each request's look-up with the rows of
the transactions its last read could not see (`xact`, migration 0018). So a delivery in
a request whose catch-up ran after a bounce's commit finds that bounce's run, whichever
instance wrote it, as the probe did; a bounce committing while the request runs is as
concurrent as before (neither the probe nor the filter sees it).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.xact_bloom import SNAPSHOT, XactBloom, unseen

Address = tuple[UUID, str]

READ_WHOLE = f"""
SELECT n.*, r.account_id, r.email FROM ({SNAPSHOT}) AS n LEFT JOIN soft_bounces r ON true
"""
CATCH_UP = f"""
SELECT n.*, r.account_id, r.email FROM ({SNAPSHOT}) AS n
LEFT JOIN soft_bounces r ON {unseen("r.xact", "$1", "$2")}
"""
COUNT = "SELECT count(*) FROM soft_bounces"


def _key(row: asyncpg.Record) -> tuple[int, str]:
    return (row["account_id"].int, row["email"])


class KnownRuns:
    """The addresses with a soft-bounce run, as far as the last catch-up could see."""

    def __init__(self, min_capacity: int = 100_000) -> None:
        self._filter = XactBloom(
            whole=READ_WHOLE,
            since=CATCH_UP,
            count=COUNT,
            key=_key,
            min_capacity=min_capacity,
            what="known_runs",
        )

    @property
    def reads(self) -> int:
        """Whole reads of the table so far (tests)."""
        return self._filter.reads

    def may_have(self, address: Address) -> bool:
        """False only if `address` had no run when the filter last caught up."""
        return (address[0].int, address[1]) in self._filter

    async def catch_up(self, conn: asyncpg.Connection) -> None:
        """Add the runs committed since the last catch-up (`XactBloom.catch_up`)."""
        await self._filter.catch_up(conn)
