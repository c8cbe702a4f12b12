"""API keys: random, shown once, stored as a SHA-256 hash; `Authorization: Bearer <key>`.

A key looks like `fo_<prefix>_<secret>`; the prefix (not secret) lets people
tell their keys apart. Keys have 256 bits of randomness, so a plain SHA-256
(not a slow password hash) is the right lookup hash.

Every refused key gets the same 401 (`unauthorized`): telling a stranger that a key
was revoked or malformed helps them probe. Only a header that is not a Bearer
credential at all (a bare key, `Basic ...`) is told so: that is the caller's own
syntax and says nothing about any key. Why it was refused goes to the log line
`auth.refused` and the `fanout_auth_refused_total` metric, never with the key itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import asyncpg
import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.http.problems import ProblemError
from shared.http.rate_limits import enforce_rate_limit
from shared.metrics import AUTH_REFUSED

KEY_PREFIX = "fo_"
UNAUTHORIZED = "missing or invalid credentials"
NOT_BEARER = "malformed Authorization header: send `Authorization: Bearer <API key>`"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: `plaintext` is shown once and never stored."""

    plaintext: str
    prefix: str
    key_hash: bytes


def hash_key(plaintext: str) -> bytes:
    """The stored form of a key."""
    return hashlib.sha256(plaintext.encode()).digest()


def new_key() -> NewKey:
    """A new random API key."""
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(plaintext=plaintext, prefix=prefix, key_hash=hash_key(plaintext))


KEY_COLUMNS = "id, name, prefix, created_at, last_used_at, revoked_at"


async def add_key(
    db: asyncpg.Pool | asyncpg.Connection, account_id: UUID, name: str = "default"
) -> tuple[asyncpg.Record, str]:
    """A new key of `account_id`: its row (`KEY_COLUMNS`) and its plaintext, shown once."""
    key = new_key()
    row = await db.fetchrow(
        f"INSERT INTO api_keys (account_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4) "
        f"RETURNING {KEY_COLUMNS}",
        account_id,
        name,
        key.prefix,
        key.key_hash,
    )
    return row, key.plaintext


async def create_account(pool: asyncpg.Pool, name: str) -> tuple[UUID, str]:
    """Create an account and its first key; returns (account id, plaintext key)."""
    async with pool.acquire() as conn, conn.transaction():
        account_id: UUID = await conn.fetchval(
            "INSERT INTO accounts (name) VALUES ($1) RETURNING id", name
        )
        _, plaintext = await add_key(conn, account_id)
    return account_id, plaintext


@dataclass(frozen=True)
class KeyCheck:
    """What a presented key turned out to be: its account, or why it was refused."""

    account_id: UUID | None
    refusal: str = ""
    key_id: UUID | None = None


async def check_key(pool: asyncpg.Pool, plaintext: str) -> KeyCheck:
    """The account of a non-revoked key, or the refusal reason (for logs, never callers).

    Notes when the key was last used (at most once a minute per key).
    """
    if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return KeyCheck(None, "malformed key")
    row = await pool.fetchrow(
        """
        SELECT id, account_id, revoked_at IS NOT NULL AS revoked,
               last_used_at > now() - interval '1 minute' AS recently_used
        FROM api_keys WHERE key_hash = $1
        """,
        hash_key(plaintext),
    )
    if row is None:
        return KeyCheck(None, "unknown key")
    if row["revoked"]:
        return KeyCheck(None, "revoked key")
    if not row["recently_used"]:
        await pool.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", row["id"])
    return KeyCheck(row["account_id"], key_id=row["id"])


async def account_for_key(pool: asyncpg.Pool, plaintext: str) -> UUID | None:
    """The account a (non-revoked) key belongs to, or None; notes when the key was last used."""
    return (await check_key(pool, plaintext)).account_id


def unauthorized(
    reason: str, *, scheme: str = "Bearer", detail: str = UNAUTHORIZED
) -> ProblemError:
    """The 401 a refused caller gets; `reason` goes to the log and the metric only.

    `scheme` is the `WWW-Authenticate` challenge (RFC 9110 wants one on every 401).
    """
    AUTH_REFUSED.labels(reason=reason).inc()
    log.info("auth.refused", reason=reason, challenge=scheme)
    return ProblemError(401, detail, headers={"WWW-Authenticate": scheme})


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer fo_...`")


async def current_account(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UUID:
    """FastAPI dependency: the caller's account id, or 401. Needs `app.state.pool`.

    Counts the request against its key's rate limits, if the app has them (429 over them).
    """
    if credentials is None:  # HTTPBearer also answers None for another scheme or a bare key
        if request.headers.get("Authorization"):
            raise unauthorized("not a Bearer token", detail=NOT_BEARER)
        raise unauthorized("missing")
    check = await check_key(request.app.state.pool, credentials.credentials)
    if check.account_id is None:
        raise unauthorized(check.refusal)
    await enforce_rate_limit(request, str(check.key_id))
    return check.account_id


CurrentAccount = Annotated[UUID, Depends(current_account)]
