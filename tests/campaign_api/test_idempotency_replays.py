"""Every acting POST replays its first answer for a retried Idempotency-Key, acting once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.esp_simulator.testing import serving
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, make_lead, make_template, outbox_commands
from tests.domains import unique_domain

pytestmark = pytest.mark.postgres

Count = Callable[[asyncpg.Pool, Tenant], Awaitable[int]]


@dataclass(frozen=True)
class Call:
    """One POST: its path and body (JSON, or raw bytes with a content type)."""

    path: str
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None

    async def send(self, client: httpx.AsyncClient, key: str) -> httpx.Response:
        headers = {"Idempotency-Key": key}
        if self.content_type:
            headers["Content-Type"] = self.content_type
        if self.content is not None:
            return await client.post(self.path, content=self.content, headers=headers)
        return await client.post(self.path, json=self.json, headers=headers)


async def _rows(pool: asyncpg.Pool, table: str, account: uuid.UUID) -> int:
    count: int = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE account_id = $1", account)
    return count


def _count(table: str) -> Count:
    async def count(pool: asyncpg.Pool, tenant: Tenant) -> int:
        return await _rows(pool, table, tenant.account_id)

    return count


async def _lead_call(tenant: Tenant) -> Call:
    return Call("/leads", json={"email": f"{uuid.uuid4().hex[:8]}@example.com"})


async def _import_call(tenant: Tenant) -> Call:
    body = b"email,plan\nann@example.com,pro\nbob@example.com,free\n"
    return Call("/leads/import", content=body, content_type="text/csv")


async def _template_call(tenant: Tenant) -> Call:
    return Call("/templates", json={"name": "t", "subject": "Hi", "text_body": "Hello"})


async def _campaign_call(tenant: Tenant) -> Call:
    template = await make_template(tenant.client)
    body = {
        "name": "c",
        "from_email": tenant.sender,
        "template_id": template["id"],
        "condition": {"field": "country", "op": "eq", "value": "DE"},
    }
    return Call("/campaigns", json=body)


async def _suppression_call(tenant: Tenant) -> Call:
    return Call("/suppressions", json={"email": "gone@example.com"})


async def _bulk_call(tenant: Tenant) -> Call:
    return Call("/suppressions/bulk", json={"emails": ["a@example.com", "b@example.com"]})


async def _key_call(tenant: Tenant) -> Call:
    return Call("/api-keys", json={"name": "ci"})


async def _preview_call(tenant: Tenant) -> Call:
    condition = {"field": "country", "op": "eq", "value": "DE"}
    return Call("/segments/preview", json={"condition": condition})


async def _template_preview_call(tenant: Tenant) -> Call:
    template = await make_template(tenant.client)
    lead = await make_lead(tenant.client, email="ada@example.com", first_name="Ada")
    return Call(f"/templates/{template['id']}/preview", json={"lead_id": lead["id"]})


async def _domain_call(tenant: Tenant) -> Call:
    return Call("/domains", json={"name": unique_domain()})


async def _nothing(pool: asyncpg.Pool, tenant: Tenant) -> int:
    return 0


CASES: dict[str, tuple[Callable[[Tenant], Awaitable[Call]], Count]] = {
    "lead": (_lead_call, _count("leads")),
    "import": (_import_call, _count("leads")),
    "template": (_template_call, _count("templates")),
    "campaign": (_campaign_call, _count("campaigns")),
    "suppression": (_suppression_call, _count("suppressions")),
    "suppressions-bulk": (_bulk_call, _count("suppressions")),
    "api-key": (_key_call, _count("api_keys")),
    "domain": (_domain_call, _count("sending_domains")),
    "segment-preview": (_preview_call, _nothing),
    "template-preview": (_template_preview_call, _nothing),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_post_replayed_with_same_key(tenant: Tenant, pool: asyncpg.Pool, case: str) -> None:
    make_call, count = CASES[case]
    call = await make_call(tenant)
    before = await count(pool, tenant)
    key = str(uuid.uuid4())
    first = await call.send(tenant.client, key)
    assert first.status_code < 300, first.text
    after_first = await count(pool, tenant)
    again = await call.send(tenant.client, key)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count(pool, tenant) == after_first
    if count is not _nothing:
        assert after_first > before  # the first call did act


async def test_post_with_new_key_acts_again(tenant: Tenant, pool: asyncpg.Pool) -> None:
    call = await _template_call(tenant)
    await call.send(tenant.client, "one")
    await call.send(tenant.client, "two")
    assert await _rows(pool, "templates", tenant.account_id) == 2


async def test_lifecycle_actions_replayed_once_each(tenant: Tenant, pool: asyncpg.Pool) -> None:
    campaign = await make_campaign(tenant.client)
    moves = [("launch", "queued"), ("pause", "paused"), ("resume", "queued")]
    moves.append(("cancel", "cancelled"))
    for commands, (action, state) in enumerate(moves, start=1):
        call = Call(f"/campaigns/{campaign['id']}/{action}")
        key = f"{action}-{uuid.uuid4()}"
        first = await call.send(tenant.client, key)
        assert (first.status_code, first.json()["state"]) == (202, state), first.text
        again = await call.send(tenant.client, key)
        assert (again.status_code, again.content) == (202, first.content)
        assert len(await outbox_commands(pool, campaign["id"])) == commands, action


async def test_refused_action_replays_its_problem(tenant: Tenant) -> None:
    campaign = await make_campaign(tenant.client)
    call = Call(f"/campaigns/{campaign['id']}/pause")
    first = await call.send(tenant.client, "pause-a-draft")
    assert first.status_code == 409
    await tenant.client.post(f"/campaigns/{campaign['id']}/launch")  # pausing is legal now
    again = await call.send(tenant.client, "pause-a-draft")
    assert (again.status_code, again.json()) == (409, first.json())
    assert (await tenant.client.get(f"/campaigns/{campaign['id']}")).json()["state"] == "queued"


async def test_launch_retried_after_client_timeout_launches_once(
    api_app: FastAPI, tenant: Tenant, pool: asyncpg.Pool
) -> None:
    """A real server: the client gives up while the launch waits, retries, gets its answer."""
    campaign = await make_campaign(tenant.client)
    path = f"/campaigns/{campaign['id']}/launch"
    headers = {"Authorization": f"Bearer {tenant.key}", "Idempotency-Key": "launch-once"}
    async with serving(api_app, lifespan=False) as base_url:
        client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)
        async with client, pool.acquire() as conn:
            lock = conn.transaction()
            await lock.start()
            # the launch blocks on this row lock, so the client's read times out
            await conn.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", campaign["id"])
            with pytest.raises(httpx.ReadTimeout):
                await client.post(path, timeout=0.5)  # the client gives up; the server goes on
            assert (await client.post(path)).status_code == 409  # still in progress
            await lock.rollback()
            retried = await _until_settled(client, path)
    assert retried.status_code == 202, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json()["state"] == "queued"
    assert len(await outbox_commands(pool, campaign["id"])) == 1


async def _until_settled(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """Retry (bounded) while the first request is still in progress (409)."""
    for _ in range(200):
        response = await client.post(path)
        if response.status_code != 409:
            return response
        await asyncio.sleep(0.05)
    raise AssertionError("the first launch never finished")
