"""Idempotency-Key semantics: mismatches, requests in flight, expiry, scope, the default."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.campaign_api.idempotency import store
from services.campaign_api.idempotency.request import MalformedKey, parse_key
from tests.campaign_api.conftest import Tenant, TenantFactory, client_for, start_app
from tests.campaign_api.helpers import make_campaign, make_template, outbox_commands
from tests.domains import LocalDns

pytestmark = pytest.mark.postgres

TEMPLATE = {"name": "t", "subject": "Hi", "text_body": "Hello"}


def _keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def _templates(pool: asyncpg.Pool, tenant: Tenant) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM templates WHERE account_id = $1", tenant.account_id
    )
    return count


async def test_same_key_different_body_is_422_naming_the_header(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    first = await tenant.client.post("/templates", json=TEMPLATE, headers=_keyed("k1"))
    assert first.status_code == 201
    other = await tenant.client.post(
        "/templates", json={**TEMPLATE, "name": "other"}, headers=_keyed("k1")
    )
    assert other.status_code == 422
    problem = other.json()
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert problem["errors"][0]["type"] == "idempotency_key_reused"
    assert "Idempotency-Key" in problem["detail"]
    assert await _templates(pool, tenant) == 1


async def test_same_key_on_another_campaign_is_422(tenant: Tenant, pool: asyncpg.Pool) -> None:
    one, two = await make_campaign(tenant.client), await make_campaign(tenant.client)
    launched = await tenant.client.post(f"/campaigns/{one['id']}/launch", headers=_keyed("go"))
    assert launched.status_code == 202
    other = await tenant.client.post(f"/campaigns/{two['id']}/launch", headers=_keyed("go"))
    assert other.status_code == 422
    assert await outbox_commands(pool, two["id"]) == []


async def test_quoted_and_bare_key_are_the_same_key(tenant: Tenant, pool: asyncpg.Pool) -> None:
    await tenant.client.post("/templates", json=TEMPLATE, headers=_keyed('"abc-1"'))
    again = await tenant.client.post("/templates", json=TEMPLATE, headers=_keyed("abc-1"))
    assert again.headers["idempotent-replayed"] == "true"
    assert await _templates(pool, tenant) == 1


@pytest.mark.parametrize("raw", ["", "x" * 256, "clé", '""', "a\tb"])
def test_malformed_key_refused(raw: str) -> None:
    with pytest.raises(MalformedKey):
        parse_key(raw)


async def test_malformed_key_is_400_and_nothing_runs(tenant: Tenant, pool: asyncpg.Pool) -> None:
    response = await tenant.client.post("/templates", json=TEMPLATE, headers=_keyed("x" * 256))
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await _templates(pool, tenant) == 0


async def test_keys_are_per_account(make_tenant: TenantFactory, pool: asyncpg.Pool) -> None:
    ann, bob = await make_tenant(), await make_tenant()
    for tenant in (ann, bob):
        response = await tenant.client.post("/templates", json=TEMPLATE, headers=_keyed("same"))
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
        assert await _templates(pool, tenant) == 1


async def test_unauthenticated_request_with_key_is_401_and_stores_nothing(
    api_app: FastAPI, pool: asyncpg.Pool
) -> None:
    async with client_for(api_app, "fo_bad_key") as client:
        response = await client.post("/templates", json=TEMPLATE, headers=_keyed("anon"))
    assert response.status_code == 401
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'anon'") == 0


async def test_expired_key_acts_again_and_is_purged(tenant: Tenant, pool: asyncpg.Pool) -> None:
    await tenant.client.post("/templates", json=TEMPLATE, headers=_keyed("old"))
    expire = "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1"
    await pool.execute(expire, "old")
    again = await tenant.client.post("/templates", json=TEMPLATE, headers=_keyed("old"))
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert await _templates(pool, tenant) == 2
    await pool.execute(expire, "old")
    assert await store.purge_expired(pool) >= 1
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'old'") == 0


async def test_lapsed_lease_frees_a_key_whose_request_died(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    claim = await store.claim(pool, tenant.account_id, "died", ttl_s=60, lease_s=60)
    assert isinstance(claim, store.Claimed)
    held = await store.claim(pool, tenant.account_id, "died", ttl_s=60, lease_s=60)
    assert isinstance(held, store.InProgress)
    await pool.execute(
        "UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = 'died'"
    )
    retried = await store.claim(pool, tenant.account_id, "died", ttl_s=60, lease_s=60)
    assert isinstance(retried, store.Claimed)


async def test_concurrent_duplicate_launch_answers_409_then_replays(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    campaign = await make_campaign(tenant.client)
    path = f"/campaigns/{campaign['id']}/launch"
    async with pool.acquire() as conn, conn.transaction():
        # the first launch waits on this row lock: it is in flight while the duplicate comes
        await conn.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", campaign["id"])
        first = asyncio.create_task(tenant.client.post(path, headers=_keyed("twice")))
        await _until_in_progress(pool, "twice")
        duplicate = await tenant.client.post(path, headers=_keyed("twice"))
        assert duplicate.status_code == 409
        assert duplicate.headers["retry-after"] == "1"
        assert duplicate.json()["errors"][0]["type"] == "idempotency_key_in_progress"
    assert (await first).status_code == 202
    replay = await tenant.client.post(path, headers=_keyed("twice"))
    assert (replay.status_code, replay.content) == (202, (await first).content)
    assert len(await outbox_commands(pool, campaign["id"])) == 1


async def _until_in_progress(pool: asyncpg.Pool, key: str) -> None:
    """Wait (bounded) until the request holding `key` has claimed it."""
    query = "SELECT 1 FROM idempotency_keys WHERE key = $1 AND status IS NULL"
    for _ in range(500):
        if await pool.fetchval(query, key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no request claimed {key!r}")


async def test_later_added_post_route_is_idempotent_by_default(
    api_app: FastAPI, tenant: Tenant, local_dns: LocalDns
) -> None:
    app, stop = await start_app(api_app.state.settings.common, local_dns)
    calls: list[int] = []

    @app.post("/added-later", status_code=201)
    async def added_later() -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first call fails: a 500 keeps no answer")
        return {"calls": len(calls)}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {tenant.key}", **_keyed("later")}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            statuses = [(await client.post("/added-later", headers=headers)).status_code]
            statuses += [(await client.post("/added-later", headers=headers)).status_code]
            replay = await client.post("/added-later", headers=headers)
    finally:
        await stop()
    assert statuses == [500, 201]
    assert (replay.status_code, replay.json()) == (201, {"calls": 2})
    assert len(calls) == 2


async def test_template_check_failure_is_replayed_without_rendering_again(
    tenant: Tenant,
) -> None:
    bad = {**TEMPLATE, "subject": "{{ unknown_variable }}"}
    first = await tenant.client.post("/templates", json=bad, headers=_keyed("bad"))
    assert first.status_code == 422
    again = await tenant.client.post("/templates", json=bad, headers=_keyed("bad"))
    assert (again.status_code, again.json()) == (422, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert (await make_template(tenant.client))["name"] == "t"
