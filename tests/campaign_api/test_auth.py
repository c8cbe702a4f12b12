"""Authentication and account scoping."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from shared.auth import NOT_BEARER, UNAUTHORIZED
from shared.settings import CommonSettings
from tests.campaign_api.conftest import Tenant, TenantFactory, client_for, start_app
from tests.campaign_api.helpers import make_campaign, make_lead, make_template
from tests.domains import LocalDns

pytestmark = pytest.mark.postgres


async def test_list_leads_without_key_is_401(api_app: FastAPI) -> None:
    async with client_for(api_app, None) as client:
        response = await client.get("/leads")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_list_leads_with_wrong_key_is_401(api_app: FastAPI, tenant: Tenant) -> None:
    async with client_for(api_app, tenant.key[:-2] + "xx") as client:
        response = await client.get("/leads")
    assert response.status_code == 401
    async with client_for(api_app, "not-even-a-key") as client:
        assert (await client.get("/leads")).status_code == 401


def _refused(reason: str) -> float:
    return REGISTRY.get_sample_value("fanout_auth_refused_total", {"reason": reason}) or 0.0


async def test_every_401_is_a_problem_with_the_reason_in_logs_and_metrics(
    api_app: FastAPI, tenant: Tenant
) -> None:
    revoked = (await tenant.client.post("/api-keys", json={"name": "old"})).json()
    assert (await tenant.client.delete(f"/api-keys/{revoked['id']}")).status_code == 204
    wrong = tenant.key[:-2] + "xx"
    cases = [
        ({}, "missing"),
        ({"Authorization": tenant.key}, "not a Bearer token"),
        ({"Authorization": f"Basic {tenant.key}"}, "not a Bearer token"),
        ({"Authorization": "Bearer not-even-a-key"}, "malformed key"),
        ({"Authorization": f"Bearer {wrong}"}, "unknown key"),
        ({"Authorization": f"Bearer {revoked['key']}"}, "revoked key"),
    ]
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        for headers, reason in cases:
            before = _refused(reason)
            with capture_logs() as logs:
                response = await client.get("/leads", headers=headers)
            assert response.status_code == 401, reason
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.headers["content-type"] == "application/problem+json"
            # a header that is no Bearer credential is told so; every key problem is alike
            detail = NOT_BEARER if reason == "not a Bearer token" else UNAUTHORIZED
            assert response.json() == {
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "detail": detail,
            }
            refusals = [e for e in logs if e["event"] == "auth.refused"]
            assert [e["reason"] for e in refusals] == [reason]
            assert tenant.key not in str(logs) and revoked["key"] not in str(logs)
            assert tenant.key not in response.text
            assert _refused(reason) == before + 1


async def test_revoke_api_key_stops_it_working(api_app: FastAPI, tenant: Tenant) -> None:
    created = await tenant.client.post("/api-keys", json={"name": "ci"})
    assert created.status_code == 201
    second = created.json()
    assert second["last_used_at"] is None
    async with client_for(api_app, second["key"]) as client:
        assert (await client.get("/leads")).status_code == 200
        listed = (await tenant.client.get("/api-keys")).json()
        assert [k["name"] for k in listed] == ["default", "ci"]
        assert all("key" not in k for k in listed)
        assert all(k["last_used_at"] is not None for k in listed)
        assert (await tenant.client.delete(f"/api-keys/{second['id']}")).status_code == 204
        assert (await client.get("/leads")).status_code == 401
    assert (await tenant.client.delete(f"/api-keys/{second['id']}")).status_code == 404


async def test_get_objects_of_another_account_is_404(make_tenant: TenantFactory) -> None:
    owner, other = await make_tenant(), await make_tenant()
    lead = await make_lead(owner.client, email="owned@example.com")
    template = await make_template(owner.client)
    campaign = await make_campaign(owner.client, template_id=template["id"])
    await owner.client.post("/suppressions", json={"email": "gone@example.com"})
    for path in (
        f"/leads/{lead['id']}",
        f"/templates/{template['id']}",
        f"/campaigns/{campaign['id']}",
    ):
        mine, theirs = await owner.client.get(path), await other.client.get(path)
        assert mine.status_code == 200
        assert theirs.status_code == 404
        assert (await other.client.delete(path)).status_code in (404, 405)
    for action in ("launch", "pause", "resume", "cancel"):
        response = await other.client.post(f"/campaigns/{campaign['id']}/{action}")
        assert response.status_code == 404
    assert (
        await other.client.patch(f"/leads/{lead['id']}", json={"first_name": "x"})
    ).status_code == 404
    assert (await other.client.delete("/suppressions/gone@example.com")).status_code == 404
    assert (await other.client.get("/leads")).json()["items"] == []
    assert (await other.client.get("/campaigns")).json()["items"] == []
    keys = (await owner.client.get("/api-keys")).json()
    assert (await other.client.delete(f"/api-keys/{keys[0]['id']}")).status_code == 404
    preview = await other.client.post(
        f"/templates/{template['id']}/preview", json={"lead_id": lead["id"]}
    )
    assert preview.status_code == 404
    assert (await owner.client.get(f"/leads/{lead['id']}")).json()["first_name"] is None


async def test_healthz_needs_no_key(api_app: FastAPI, base_settings: CommonSettings) -> None:
    async with client_for(api_app, None) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/metrics")).status_code == 401
    async with client_for(api_app, base_settings.secret("ops_token")) as client:
        assert (await client.get("/metrics")).status_code == 200


@pytest.mark.kafka
async def test_readyz_checks_postgres_and_kafka(
    api_app: FastAPI, base_settings: CommonSettings
) -> None:
    async with client_for(api_app, base_settings.secret("ops_token")) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"postgres": "ok", "kafka": "ok"}


async def test_readyz_names_unreachable_kafka(
    base_settings: CommonSettings, pg_dsn: str, local_dns: LocalDns
) -> None:
    common = base_settings.model_copy(
        update={"database_url": pg_dsn, "kafka_bootstrap_servers": "127.0.0.1:9"}
    )
    app, stop = await start_app(common, local_dns)
    try:
        async with client_for(app, common.secret("ops_token")) as client:
            with capture_logs() as logs:
                ready = await client.get("/readyz")
    finally:
        await stop()
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"postgres": "ok", "kafka": "unavailable"}
    assert "127.0.0.1:9" not in ready.text  # why goes to the log only
    [failed] = [e for e in logs if e["event"] == "readiness.unavailable"]
    assert failed["check"] == "kafka" and "127.0.0.1:9" in failed["error"]
