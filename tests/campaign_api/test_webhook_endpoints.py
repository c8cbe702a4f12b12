"""Webhook endpoints through the API: the secret shown once, validation naming the
field, the delivery log and replay, and another account's endpoint answering 404."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import create

pytestmark = pytest.mark.postgres
BODY = {"url": "http://127.0.0.1:9/hook", "event_types": ["campaign.completed", "lead.bounced"]}


async def register(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    return await create(tenant.client, "/webhook-endpoints", {**BODY, **overrides})


async def test_the_secret_is_shown_at_creation_and_rotation_only(tenant: Tenant) -> None:
    with capture_logs() as logs:
        created = await register(tenant, description="CRM")
        rotated = await tenant.client.post(
            f"/webhook-endpoints/{created['id']}/rotate-secret", json={"overlap_seconds": 60}
        )
    assert created["secret"].startswith("whsec_") and created["status"] == "enabled"
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    shown = await tenant.client.get(f"/webhook-endpoints/{created['id']}")
    listed = await tenant.client.get("/webhook-endpoints")
    assert "secret" not in shown.json()
    assert [e["id"] for e in listed.json()["items"]] == [created["id"]]
    assert "secret" not in listed.json()["items"][0]
    for secret in (created["secret"], rotated.json()["secret"]):
        assert secret.removeprefix("whsec_") not in repr(logs)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "https://user:pw@example.com/hook"}, "url"),
        ({"event_types": ["campaign.exploded"]}, "event_types"),
        ({"event_types": []}, "event_types"),
    ],
)
async def test_bad_endpoints_are_422_naming_the_field(
    tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await tenant.client.post("/webhook-endpoints", json={**BODY, **body})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", field]
    listed = await tenant.client.get("/webhook-endpoints")
    assert listed.json()["items"] == []


async def test_the_delivery_log_and_a_replay(tenant: Tenant, pool: asyncpg.Pool) -> None:
    endpoint = await register(tenant)
    delivery = uuid.uuid4()
    await pool.execute(
        "INSERT INTO webhook_deliveries (id, endpoint_id, account_id, event_type, body, status, "
        "attempts, next_attempt_at, last_status_code, completed_at) "
        "VALUES ($1, $2, $3, 'lead.bounced', '{}', 'failed', 1, now(), 500, now())",
        delivery,
        uuid.UUID(endpoint["id"]),
        tenant.account_id,
    )
    await pool.execute(
        "INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, "
        "succeeded) VALUES ($1, now(), 500, 12, false)",
        delivery,
    )
    path = f"/webhook-endpoints/{endpoint['id']}"

    log = await tenant.client.get(f"{path}/deliveries", params={"status": "failed"})
    [item] = log.json()["items"]
    assert (item["id"], item["status"], item["next_attempt_at"]) == (str(delivery), "failed", None)
    assert [a["status_code"] for a in item["attempt_log"]] == [500]

    replay = await tenant.client.post(f"{path}/replay", json={"delivery_id": str(delivery)})
    assert (replay.status_code, replay.json()["replayed"]) == (202, 1)
    pending = await tenant.client.get(f"{path}/deliveries", params={"status": "pending"})
    assert [d["id"] for d in pending.json()["items"]] == [str(delivery)]
    unknown = await tenant.client.post(f"{path}/replay", json={"delivery_id": str(uuid.uuid4())})
    assert unknown.status_code == 404

    await tenant.client.patch(path, json={"enabled": False})
    refused = await tenant.client.post(f"{path}/replay", json={"delivery_id": str(delivery)})
    assert refused.status_code == 409


async def test_another_account_sees_404(tenant: Tenant, make_tenant: Any) -> None:
    endpoint = await register(tenant)
    other: Tenant = await make_tenant()
    path = f"/webhook-endpoints/{endpoint['id']}"
    answers = [
        await other.client.get(path),
        await other.client.patch(path, json={"description": "mine"}),
        await other.client.post(f"{path}/rotate-secret"),
        await other.client.get(f"{path}/deliveries"),
        await other.client.post(f"{path}/replay", json={"since": "2026-01-01T00:00:00Z"}),
        await other.client.delete(path),
    ]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert (await other.client.get("/webhook-endpoints")).json()["items"] == []
    mine = await tenant.client.get(path)
    assert (mine.status_code, mine.json()["description"]) == (200, "")


async def test_list_webhook_endpoints_in_id_pages(tenant: Tenant) -> None:
    ids = sorted([(await register(tenant))["id"] for _ in range(3)])
    first = (await tenant.client.get("/webhook-endpoints", params={"limit": 2})).json()
    cursor = {"limit": 2, "cursor": first["next_cursor"]}
    rest = (await tenant.client.get("/webhook-endpoints", params=cursor)).json()
    assert [e["id"] for e in first["items"] + rest["items"]] == ids
    assert first["next_cursor"] == ids[1] and rest["next_cursor"] is None
    assert all("secret" not in e for e in first["items"])
