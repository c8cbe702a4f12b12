"""Verifying a sending domain: look its records up, judge each, mark it verified.

Idempotent: a verified domain answers as it is, with no lookup. Otherwise every
record is looked up (concurrently, once per name) and judged; if a required one
did not pass, `RecordsNotFound` carries every verdict and nothing is written.
When all pass, the domain is marked verified, which fails with
`VerifiedElsewhere` if another account holds the name.
"""

from __future__ import annotations

import asyncio
from typing import Protocol
from uuid import UUID

import asyncpg

from services.campaign_api.domains.records import (
    ExpectedRecord,
    RecordCheck,
    expected_records,
    judge,
)
from services.campaign_api.domains.settings import DomainSettings
from services.campaign_api.domains.store import fetch_domain, mark_verified
from services.campaign_api.owned import Db


class Lookup(Protocol):
    """What verification needs of DNS (`lookup.TxtLookup`)."""

    async def texts(self, name: str) -> list[str]: ...


class RecordsNotFound(ValueError):
    """Required records were missing or wrong; `checks` has the verdict on every record."""

    def __init__(self, checks: list[RecordCheck]) -> None:
        self.checks = checks
        blocking = [c for c in checks if c.blocks]
        super().__init__("; ".join(c.detail for c in blocking))


def records_of(row: asyncpg.Record, settings: DomainSettings) -> list[ExpectedRecord]:
    """The records a stored domain publishes."""
    return expected_records(
        row["name"],
        token=row["verification_token"],
        spf_include=settings.spf_include,
        selector=row["dkim_selector"],
        public_key=row["dkim_public_key"],
    )


async def check_records(lookup: Lookup, records: list[ExpectedRecord]) -> list[RecordCheck]:
    """The verdict on each record (`ResolverUnavailable` if DNS did not answer)."""
    names = sorted({r.name for r in records})
    found = dict(zip(names, await asyncio.gather(*(lookup.texts(n) for n in names)), strict=True))
    return [judge(record, found[record.name]) for record in records]


async def verify_domain(
    db: Db, account: UUID, domain_id: UUID, lookup: Lookup, settings: DomainSettings
) -> tuple[asyncpg.Record, list[RecordCheck]]:
    """The domain once verified, with the verdicts (none if it was verified before)."""
    row = await fetch_domain(db, account, domain_id)
    if row["verified_at"] is not None:
        return row, []
    checks = await check_records(lookup, records_of(row, settings))
    if any(check.blocks for check in checks):
        raise RecordsNotFound(checks)
    return await mark_verified(db, account, domain_id), checks
