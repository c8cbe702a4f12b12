"""Which addresses of an account may be suppressed: a Bloom filter of its `suppressions`.

A page of leads needs, per lead, whether its address is suppressed and since when (the
launch excludes what was suppressed before it; the sender screens out what was since).
That was an index probe per lead, about 1 µs of Postgres CPU each, though almost no lead
of a campaign is suppressed. Per account the resolver keeps instead a filter of the
account's suppressed addresses (`shared.xact_bloom`), read whole for the account's first
page, then caught up before each page with the suppressions of the transactions its last
read could not see (`suppressions.xact`, migration 0017); only the page's addresses it
may hold (the suppressed ones and about 1 % false positives) are probed.

What the filter cannot have seen the sender screens: the page's batches carry the xmin of
the catch-up's snapshot as `resolved_xmin`, which is at or below the id of every
transaction whose suppressions the filter may lack (and below the page's own snapshot's,
which decides unsubscribes).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import asyncpg
from cachetools import LRUCache

from shared.xact_bloom import SNAPSHOT, XactBloom, unseen

READ_WHOLE = f"""
SELECT n.*, r.email FROM ({SNAPSHOT}) AS n
LEFT JOIN suppressions r ON r.account_id = $1
"""
# `r.xact > '0'`: the predicate of the index on (account_id, xact) (migration 0017)
CATCH_UP = f"""
SELECT n.*, r.email FROM ({SNAPSHOT}) AS n
LEFT JOIN suppressions r ON r.account_id = $1 AND r.xact > '0' AND {unseen("r.xact", "$2", "$3")}
"""
COUNT = "SELECT count(*) FROM suppressions WHERE account_id = $1"
# What a page asks of the addresses the filter may hold: one probe of the primary key per
# address (`LIMIT 1` in a lateral). As `s.email = ANY($2)` the planner, estimating from
# statistics taken while the account had few suppressions, could make the array a filter
# on the account's whole range of the key rather than part of the index condition: 3.4 ms
# per page instead of 0.04 once the account had 20,000 suppressions (auto_explain, a 1M
# campaign on the development stack).
SUPPRESSED_AT = """
SELECT a.email, s.created_at FROM unnest($2::text[]) AS a(email)
CROSS JOIN LATERAL (
    SELECT s.created_at FROM suppressions s
    WHERE s.account_id = $1 AND s.email = a.email LIMIT 1
) s
"""


def _key(row: asyncpg.Record) -> str:
    email: str = row["email"]
    return email


class KnownSuppressed:
    """Per account (the `accounts` used last), its suppressed addresses as far as the last
    catch-up could see."""

    def __init__(self, accounts: int = 64, min_capacity: int = 10_000) -> None:
        self._filters: LRUCache[UUID, XactBloom] = LRUCache(maxsize=accounts)
        self._min_capacity = min_capacity

    def filter(self, account_id: UUID) -> XactBloom:
        """The account's filter (new, to be read whole at its first catch-up)."""
        found = self._filters.get(account_id)
        if found is None:
            found = self._filters[account_id] = XactBloom(
                whole=READ_WHOLE,
                since=CATCH_UP,
                count=COUNT,
                key=_key,
                min_capacity=self._min_capacity,
                what="known_suppressed",
            )
        return found

    async def catch_up(self, conn: asyncpg.Connection, account_id: UUID) -> int:
        """Catch the account's filter up; the xmin of the snapshot it was read with."""
        return await self.filter(account_id).catch_up(conn, account_id)

    async def suppressed_at(
        self, conn: asyncpg.Connection, account_id: UUID, addresses: Iterable[str | None]
    ) -> dict[str, datetime]:
        """When each of `addresses` (lower case; None for a lead without one) that the
        account's filter may hold was suppressed, for those that are (after `catch_up`)."""
        known = self.filter(account_id)
        maybe = sorted({a for a in addresses if a is not None and a in known})
        if not maybe:
            return {}
        rows = await conn.fetch(SUPPRESSED_AT, account_id, maybe)
        return {row["email"]: row["created_at"] for row in rows}
