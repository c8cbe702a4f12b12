"""The idempotency keys in Postgres: claim a key, store its answer, replay it, purge it.

Times come from the database's clock (`now()`), the one clock every API instance
shares. A first request holds its key with a lease (`locked_until`) that its
process renews while it runs; a crash lets the lease lapse, and the key is free
again for a retry instead of answering 409 for a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
import orjson

CLAIM = """
INSERT INTO idempotency_keys (account_id, key, locked_until, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3), now() + make_interval(secs => $4))
ON CONFLICT (account_id, key) DO UPDATE SET
    locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at,
    created_at = now(), fingerprint = NULL, status = NULL, headers = NULL, body = NULL
WHERE idempotency_keys.expires_at <= now()
   OR (idempotency_keys.status IS NULL AND idempotency_keys.locked_until <= now())
RETURNING 1
"""
LOAD = """
SELECT fingerprint, status, headers, body FROM idempotency_keys
WHERE account_id = $1 AND key = $2
"""
COMPLETE = """
UPDATE idempotency_keys SET fingerprint = $3, status = $4, headers = $5::jsonb, body = $6,
    locked_until = NULL
WHERE account_id = $1 AND key = $2
"""
RENEW = """
UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $3)
WHERE account_id = $1 AND key = $2 AND status IS NULL
"""
RELEASE = "DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND status IS NULL"
PURGE = """
DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1
))
"""


@dataclass(frozen=True)
class StoredAnswer:
    """The first request's fingerprint and the answer it got."""

    fingerprint: bytes
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: it runs, and then stores its answer or frees the key."""

    pool: asyncpg.Pool
    account: UUID
    key: str
    lease_s: float

    async def complete(self, answer: StoredAnswer) -> None:
        """Store the first request's answer: from now on retries replay it."""
        await self.pool.execute(
            COMPLETE,
            self.account,
            self.key,
            answer.fingerprint,
            answer.status,
            orjson.dumps(answer.headers).decode(),
            answer.body,
        )

    async def renew(self) -> None:
        """Extend the running request's lease."""
        await self.pool.execute(RENEW, self.account, self.key, float(self.lease_s))

    async def release(self) -> None:
        """Free the key of a request that keeps no answer (a 5xx or a crash)."""
        await self.pool.execute(RELEASE, self.account, self.key)


@dataclass(frozen=True)
class InProgress:
    """Another request with this key is still running."""


Claim = Claimed | InProgress | StoredAnswer


async def claim(
    pool: asyncpg.Pool, account: UUID, key: str, *, ttl_s: float, lease_s: float
) -> Claim:
    """Take the key for a first request, or say what holds it (a runner or an answer)."""
    for _ in range(3):  # a row purged between the two statements: claim again
        if await pool.fetchval(CLAIM, account, key, float(lease_s), float(ttl_s)) is not None:
            return Claimed(pool, account, key, lease_s)
        row = await pool.fetchrow(LOAD, account, key)
        if row is None:
            continue
        if row["status"] is None:
            return InProgress()
        headers = [(str(name), str(value)) for name, value in orjson.loads(row["headers"])]
        return StoredAnswer(bytes(row["fingerprint"]), row["status"], headers, bytes(row["body"]))
    return InProgress()


async def purge_expired(pool: asyncpg.Pool, batch: int = 10_000) -> int:
    """Delete expired keys, `batch` at a time (short locks); returns how many went."""
    total = 0
    while True:
        done = await pool.execute(PURGE, batch)
        deleted = int(done.split()[-1])
        total += deleted
        if deleted < batch:
            return total
