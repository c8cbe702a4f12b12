"""API keys: random, shown once, stored as a SHA-256 hash; `Authorization: Bearer <key>`.

A key looks like `fo_<prefix>_<secret>`; the prefix (not secret) lets people
tell their keys apart. Keys have 256 bits of randomness, so a plain SHA-256
(not a slow password hash) is the right lookup hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

KEY_PREFIX = "fo_"


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


async def create_account(pool: asyncpg.Pool, name: str) -> tuple[UUID, str]:
    """Create an account and its first key; returns (account id, plaintext key)."""
    key = new_key()
    async with pool.acquire() as conn, conn.transaction():
        account_id: UUID = await conn.fetchval(
            "INSERT INTO accounts (name) VALUES ($1) RETURNING id", name
        )
        await conn.execute(
            "INSERT INTO api_keys (account_id, prefix, key_hash) VALUES ($1, $2, $3)",
            account_id,
            key.prefix,
            key.key_hash,
        )
    return account_id, key.plaintext


async def account_for_key(pool: asyncpg.Pool, plaintext: str) -> UUID | None:
    """The account a (non-revoked) key belongs to, or None; notes when the key was last used."""
    if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return None
    row = await pool.fetchrow(
        """
        SELECT id, account_id, last_used_at > now() - interval '1 minute' AS recently_used
        FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL
        """,
        hash_key(plaintext),
    )
    if row is None:
        return None
    if not row["recently_used"]:  # record use at most once a minute per key
        await pool.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", row["id"])
    account_id: UUID = row["account_id"]
    return account_id


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer fo_...`")


async def current_account(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UUID:
    """FastAPI dependency: the caller's account id, or 401. Needs `app.state.pool`."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    account = await account_for_key(request.app.state.pool, credentials.credentials)
    if account is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return account


CurrentAccount = Annotated[UUID, Depends(current_account)]
