"""Dashboard sessions in Postgres on a pinned clock: idle and absolute expiry, the key's
revocation, sign-out, a rotated sealing key, the purge, and nothing of the key or the
token stored in the clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest

from services.campaign_api.dashboard.sessions import PURPOSE, SessionStore, token_hash
from shared.auth import check_key
from shared.sealing import Sealer
from tests import factories
from tests.clock import PinnedTime

pytestmark = pytest.mark.postgres

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=10)
LIFETIME = timedelta(minutes=30)


def _store(pool: asyncpg.Pool, clock: PinnedTime, secret: str = "s" * 32) -> SessionStore:
    return SessionStore(pool, Sealer(secret, PURPOSE), idle=IDLE, lifetime=LIFETIME, clock=clock)


async def test_sign_in_with_a_key_and_find_the_session(pool: asyncpg.Pool) -> None:
    account = await factories.account(pool)
    store = _store(pool, PinnedTime(START))
    assert await store.sign_in("fo_nothere_" + "x" * 40) is None
    opened = await store.sign_in(f"  {account.key} ")
    assert opened is not None
    token, session = opened
    found = await store.find(token)
    assert found == session and found.account_id == account.id and found.api_key == account.key
    assert account.key not in repr(found)
    row = await pool.fetchrow(
        "SELECT * FROM dashboard_sessions WHERE token_hash = $1", token_hash(token)
    )
    stored = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    assert account.key.encode() not in stored and token.encode() not in stored


async def test_idle_and_absolute_expiry(pool: asyncpg.Pool) -> None:
    account = await factories.account(pool)
    clock = PinnedTime(START)
    store = _store(pool, clock)
    token, _ = await store.open(account.id, await _key_id(pool, account.key), account.key)
    for minutes in (9, 18, 27):  # each request within the idle time keeps it alive
        clock.now = START + timedelta(minutes=minutes)
        assert await store.find(token) is not None, minutes
    clock.now = START + LIFETIME + timedelta(seconds=1)  # busy, but past its lifetime
    assert await store.find(token) is None
    idle, _ = await store.open(account.id, await _key_id(pool, account.key), account.key)
    clock.now += IDLE - timedelta(seconds=1)
    assert await store.find(idle) is not None
    clock.now += IDLE + timedelta(seconds=1)  # touched at most once a minute: idle now
    assert await store.find(idle) is None


async def test_close_revocation_and_rotated_sealing_key(pool: asyncpg.Pool) -> None:
    account = await factories.account(pool)
    clock = PinnedTime(START)
    store = _store(pool, clock)
    key_id = await _key_id(pool, account.key)
    closed, _ = await store.open(account.id, key_id, account.key)
    await store.close(closed)
    assert await store.find(closed) is None
    rotated, _ = await store.open(account.id, key_id, account.key)
    assert await _store(pool, clock, secret="t" * 32).find(rotated) is None  # another key
    assert await store.find(rotated) is None  # and the row is gone: sign in again
    revoked, _ = await store.open(account.id, key_id, account.key)
    # what DELETE /api-keys/{id} does (the route has no function of its own to call)
    await pool.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", key_id)
    assert await store.find(revoked) is None


async def test_purge_deletes_what_has_ended(pool: asyncpg.Pool) -> None:
    account = await factories.account(pool)
    clock = PinnedTime(START)
    store = _store(pool, clock)
    key_id = await _key_id(pool, account.key)
    old, _ = await store.open(account.id, key_id, account.key)
    clock.now = START + IDLE + timedelta(minutes=1)
    live, _ = await store.open(account.id, key_id, account.key)
    assert await store.purge() >= 1
    hashes = {
        r["token_hash"]
        for r in await pool.fetch(
            "SELECT token_hash FROM dashboard_sessions WHERE account_id = $1", account.id
        )
    }
    assert hashes == {token_hash(live)}
    assert await store.find(old) is None


async def _key_id(pool: asyncpg.Pool, key: str) -> UUID:
    check = await check_key(pool, key)
    assert check.key_id is not None
    return check.key_id
