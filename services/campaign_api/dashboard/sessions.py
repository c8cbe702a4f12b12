"""Dashboard sessions, kept in Postgres (`dashboard_sessions`, migration 0011).

Why Postgres rather than a signed cookie: sign-out must end a session at once, even if
someone kept a copy of the cookie, and a revoked API key must end every session opened
with it; both need state on the server. The browser holds a random 256-bit token; the
table holds its SHA-256, the account, the key's id, the key itself sealed under
`FANOUT_SESSION_KEY` (the dashboard calls the APIs with it), and the session's CSRF
token. A session ends at sign-out, after `idle` without a request or `lifetime` after
sign-in, or when its key is revoked. Times come from `clock` (tests pin it).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import structlog
from cryptography.fernet import InvalidToken

from services.campaign_api.campaigns.stalls import WallClock, utc_now
from shared.auth import check_key
from shared.metrics import AUTH_REFUSED
from shared.sealing import Sealed, Sealer, UnknownSealingKey
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

PURPOSE = b"fanout dashboard session api keys v1"
TOKEN_BYTES = 32
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often
FIND = """
SELECT s.account_id, s.sealed_key, s.sealed_key_id, s.csrf_token, s.last_seen_at
FROM dashboard_sessions s JOIN api_keys k ON k.id = s.api_key_id
WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3
  AND k.revoked_at IS NULL
"""


def session_sealer(common: CommonSettings) -> Sealer:
    """The sealer of the API keys behind sessions, under this deployment's session key."""
    return Sealer(common.secret("session_key"), PURPOSE)


def token_hash(token: str) -> bytes:
    """What the table keeps of a session token."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Session:
    """A signed-in browser: its account, the key the dashboard acts with, its CSRF token."""

    account_id: UUID
    csrf_token: str
    api_key: str = field(repr=False)  # never in a log line or a page


class SessionStore:
    """Opens, finds and closes sessions."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        sealer: Sealer,
        *,
        idle: timedelta,
        lifetime: timedelta,
        clock: WallClock = utc_now,
    ) -> None:
        self._pool = pool
        self._sealer = sealer
        self._idle = idle
        self._lifetime = lifetime
        self._clock = clock

    async def sign_in(self, api_key: str) -> tuple[str, Session] | None:
        """A new session for `api_key` if the API would accept it, else None (why it was
        refused is logged as `auth.refused` and counted, never told, as by the API)."""
        check = await check_key(self._pool, api_key.strip())
        if check.account_id is None or check.key_id is None:
            AUTH_REFUSED.labels(reason=check.refusal).inc()
            log.info("auth.refused", reason=check.refusal, via="dashboard")
            return None
        return await self.open(check.account_id, check.key_id, api_key.strip())

    async def open(self, account_id: UUID, key_id: UUID, api_key: str) -> tuple[str, Session]:
        """A new session of `account_id`, acting with `api_key` (whose id is `key_id`);
        answers the token for the cookie and the session. Always a new token: a session
        id someone planted before the sign-in is never promoted (session fixation)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        csrf = secrets.token_urlsafe(TOKEN_BYTES)
        sealed = self._sealer.seal(api_key.encode())
        now = self._clock()
        await self._pool.execute(
            """
            INSERT INTO dashboard_sessions (token_hash, account_id, api_key_id, sealed_key,
                sealed_key_id, csrf_token, created_at, last_seen_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
            """,
            token_hash(token),
            account_id,
            key_id,
            sealed.token,
            sealed.key_id,
            csrf,
            now,
            now + self._lifetime,
        )
        return token, Session(account_id, csrf, api_key)

    async def find(self, token: str) -> Session | None:
        """The live session of `token`, or None (unknown, ended, expired, idle too long,
        its key revoked, or sealed under a key this process does not have)."""
        now = self._clock()
        row = await self._pool.fetchrow(FIND, token_hash(token), now, now - self._idle)
        if row is None:
            return None
        try:
            key = self._sealer.open(Sealed(row["sealed_key_id"], row["sealed_key"])).decode()
        except (UnknownSealingKey, InvalidToken):
            await self.close(token)  # sealed under a rotated-out key: sign in again
            return None
        if now - row["last_seen_at"] >= TOUCH_EVERY:
            await self._pool.execute(
                "UPDATE dashboard_sessions SET last_seen_at = $2 WHERE token_hash = $1",
                token_hash(token),
                now,
            )
        return Session(row["account_id"], row["csrf_token"], key)

    async def close(self, token: str) -> None:
        """End the session of `token` (nothing happens if there is none)."""
        await self._pool.execute(
            "DELETE FROM dashboard_sessions WHERE token_hash = $1", token_hash(token)
        )

    async def purge(self) -> int:
        """Delete the sessions that have ended by time; how many."""
        now: datetime = self._clock()
        done: str = await self._pool.execute(
            "DELETE FROM dashboard_sessions WHERE expires_at <= $1 OR last_seen_at <= $2",
            now,
            now - self._idle,
        )
        return int(done.split()[-1])
