"""Sending domains in Postgres: register, read, mark verified, delete; always by account.

The functions the routes call after validating, and the ones tests make their
domains with. A verified name belongs to one account: the partial unique index
`sending_domains_verified_name` refuses a second verification (`VerifiedElsewhere`),
so two requests racing each other cannot both win. A domain that a launched,
unfinished campaign sends from cannot be deleted (`DomainInUse`): otherwise another
account could verify it while that campaign still sends as it.
"""

from __future__ import annotations

import asyncio
import secrets
from uuid import UUID

import asyncpg

from services.campaign_api.domains.dkim import generate_key
from services.campaign_api.domains.settings import DomainSettings
from services.campaign_api.owned import Db, require_owned
from shared.campaigns import State
from shared.campaigns.lifecycle import TERMINAL

COLUMNS = "id, name, verification_token, dkim_selector, dkim_public_key, created_at, verified_at"
# a campaign in these states may send (now or after a resume) without another launch check
SENDING_STATES = sorted(s.value for s in State if s is not State.DRAFT and s not in TERMINAL)
IN_USE_SHOWN = 10
CAMPAIGNS_SENDING_FROM = """
SELECT id FROM campaigns
WHERE account_id = $1 AND state = ANY($2::text[])
  AND $3 IN (substring(from_email from '@([^@]*)$'), substring(reply_to from '@([^@]*)$'))
ORDER BY created_at LIMIT $4
"""


class DomainNotFound(LookupError):
    """No such domain in this account."""


class DomainTaken(ValueError):
    """The account registered this name already (`existing` is that registration's id)."""

    def __init__(self, name: str, existing: UUID) -> None:
        super().__init__(f"{name} is registered in this account already")
        self.existing = existing


class VerifiedElsewhere(ValueError):
    """Another account has verified this name (which one is never said)."""


class DomainInUse(ValueError):
    """Campaigns that have been launched and not finished send from this domain."""

    def __init__(self, name: str, campaigns: list[UUID]) -> None:
        super().__init__(
            f"{name} is the sending domain of launched campaigns that have not finished; "
            "cancel them or let them finish first"
        )
        self.campaigns = campaigns


async def register_domain(
    db: Db, account: UUID, name: str, settings: DomainSettings, key_secret: str
) -> asyncpg.Record:
    """A new, unverified domain `name` (normalised) with a fresh token and DKIM key."""
    key = await asyncio.to_thread(generate_key, settings.dkim_key_bits, key_secret)
    row = await db.fetchrow(
        f"""
        INSERT INTO sending_domains (account_id, name, verification_token, dkim_selector,
            dkim_public_key, dkim_private_key)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (account_id, name) DO NOTHING RETURNING {COLUMNS}
        """,
        account,
        name,
        secrets.token_hex(16),
        settings.dkim_selector,
        key.public_key,
        key.sealed_private_key,
    )
    if row is None:
        existing = await db.fetchval(
            "SELECT id FROM sending_domains WHERE account_id = $1 AND name = $2", account, name
        )
        raise DomainTaken(name, existing)
    return row


async def fetch_domain(db: Db, account: UUID, domain_id: UUID) -> asyncpg.Record:
    """One domain of `account`, or `DomainNotFound`."""
    return await require_owned(db, "sending_domains", COLUMNS, account, domain_id, DomainNotFound)


async def list_domains(
    db: Db, account: UUID, *, verified: bool | None, after: UUID | None, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` domains of `account` in id order after `after` (keyset)."""
    rows: list[asyncpg.Record] = await db.fetch(
        f"""
        SELECT {COLUMNS} FROM sending_domains
        WHERE account_id = $1 AND ($2::uuid IS NULL OR id > $2)
          AND ($3::boolean IS NULL OR (verified_at IS NOT NULL) = $3)
        ORDER BY id LIMIT $4
        """,
        account,
        after,
        verified,
        limit,
    )
    return rows


async def mark_verified(db: Db, account: UUID, domain_id: UUID) -> asyncpg.Record:
    """Set the domain verified (idempotent); `VerifiedElsewhere` if another account holds it."""
    try:
        row = await db.fetchrow(
            f"""
            UPDATE sending_domains SET verified_at = coalesce(verified_at, now())
            WHERE id = $1 AND account_id = $2 RETURNING {COLUMNS}
            """,
            domain_id,
            account,
        )
    except asyncpg.UniqueViolationError as exc:
        raise VerifiedElsewhere("verified by another account") from exc
    if row is None:
        raise DomainNotFound(domain_id)
    return row


async def delete_domain(pool: asyncpg.Pool, account: UUID, domain_id: UUID) -> None:
    """Delete a domain, unless a launched, unfinished campaign sends from it (`DomainInUse`)."""
    async with pool.acquire() as conn, conn.transaction():
        # locked first: a launch holds the row FOR SHARE while it checks, so either the
        # launch sees the domain gone or this sees the launched campaign
        locked = await require_owned(
            conn, "sending_domains", "name", account, domain_id, DomainNotFound, for_update=True
        )
        name = locked["name"]
        rows = await conn.fetch(CAMPAIGNS_SENDING_FROM, account, SENDING_STATES, name, IN_USE_SHOWN)
        if rows:
            raise DomainInUse(name, [r["id"] for r in rows])
        await conn.execute("DELETE FROM sending_domains WHERE id = $1", domain_id)
