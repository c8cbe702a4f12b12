"""The guard and warm-ups over HTTP: the account's thresholds (422 naming the field, nothing
changed), a campaign the guard paused shown with the reason and resumed only with the
override, warm-up schedules of the account's own domains and configurations with today's
use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from shared.campaigns import guard_pause
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, outbox_commands

pytestmark = pytest.mark.postgres

REASON = "paused by guard: hard-bounce rate 8 % over 1,000 outcomes (limit 5 %)"


async def test_guard_thresholds_default_then_replaced_then_reset(tenant: Tenant) -> None:
    first = (await tenant.client.get("/guard")).json()
    assert first["defaults"] is True and first["thresholds"]["complaint_rate"] == 0.001
    body = {**first["thresholds"], "complaint_rate": 0.002, "window_complaint_rate": 0.004}
    put = await tenant.client.put("/guard", json=body)
    assert put.status_code == 200, put.text
    assert put.json() == {"thresholds": body, "defaults": False}
    assert (await tenant.client.get("/guard")).json()["thresholds"]["complaint_rate"] == 0.002
    assert (await tenant.client.delete("/guard")).status_code == 204
    assert (await tenant.client.get("/guard")).json() == first


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"account_hard_bounce_rate": 0.01}, "account_hard_bounce_rate"),
        ({"complaint_rate": 2}, "complaint_rate"),
        ({"min_outcomes": 5}, "min_outcomes"),
        ({"complaints": 0.1}, "complaints"),
    ],
)
async def test_guard_thresholds_refused_naming_the_field_and_unchanged(
    tenant: Tenant, change: dict[str, Any], field: str
) -> None:
    response = await tenant.client.put("/guard", json=change)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [["body", field]]
    assert (await tenant.client.get("/guard")).json()["defaults"] is True


async def test_guard_pause_shown_and_resume_needs_the_override(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    campaign = await make_campaign(tenant.client)
    campaign_id = UUID(campaign["id"])
    path = f"/campaigns/{campaign_id}"
    assert (await tenant.client.post(f"{path}/launch")).status_code == 202
    assert await guard_pause(pool, {campaign_id: REASON}) == [campaign_id]
    shown = (await tenant.client.get(path)).json()
    assert shown["state"] == "paused" and shown["state_reason"] == REASON
    assert shown["guard"]["reason"] == REASON and shown["guard_overridden_at"] is None
    commands = len(await outbox_commands(pool, str(campaign["id"])))

    refused = await tenant.client.post(f"{path}/resume")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["detail"].startswith(REASON + "; resume with override_guard=true")
    facts = {"current_state": "paused", "guard_reason": REASON, "override": "override_guard"}
    assert problem["extra"] == facts
    assert (await tenant.client.get(path)).json()["state"] == "paused"  # nothing changed
    assert len(await outbox_commands(pool, str(campaign["id"]))) == commands

    resumed = await tenant.client.post(f"{path}/resume", params={"override_guard": "true"})
    assert resumed.status_code == 202, resumed.text
    body = resumed.json()
    assert body["state"] == "queued" and body["guard"] is None
    assert body["guard_overridden_at"] is not None
    assert [c.kind.value for c in await outbox_commands(pool, str(campaign["id"]))][-1] == "resume"
    # overridden: the guard leaves it alone from now on
    assert await guard_pause(pool, {campaign_id: REASON}) == []


async def test_resume_of_a_campaign_the_owner_paused_needs_no_override(tenant: Tenant) -> None:
    campaign = await make_campaign(tenant.client)
    path = f"/campaigns/{campaign['id']}"
    for action in ("launch", "pause", "resume"):
        assert (await tenant.client.post(f"{path}/{action}")).status_code == 202


async def test_warmups_of_the_accounts_domain_and_configuration(tenant: Tenant) -> None:
    created = await tenant.client.post("/warmups", json={"domain": tenant.domain.upper()})
    assert created.status_code == 201, created.text
    warmup = created.json()
    today = datetime.now(UTC).date()
    assert warmup["domain"] == tenant.domain and warmup["starts_on"] == today.isoformat()
    assert warmup["daily_limits"][:3] == [50, 100, 200]  # the standard ramp
    assert warmup["today"] == {"day": today.isoformat(), "allowance": 50, "used": 0}
    assert warmup["ends_on"] == (today + timedelta(days=15)).isoformat()

    again = await tenant.client.post("/warmups", json={"domain": tenant.domain})
    assert again.status_code == 409

    [config] = (await tenant.client.get("/providers")).json()["items"]
    started = (today - timedelta(days=1)).isoformat()
    by_config = await tenant.client.post(
        "/warmups",
        json={"provider_config_id": config["id"], "starts_on": started, "daily_limits": [10]},
    )
    assert by_config.status_code == 201, by_config.text
    assert by_config.json()["today"]["allowance"] is None  # its one-day ramp is over

    listed = (await tenant.client.get("/warmups")).json()["items"]
    assert {w["id"] for w in listed} == {warmup["id"], by_config.json()["id"]}
    assert (await tenant.client.delete(f"/warmups/{warmup['id']}")).status_code == 204
    assert (await tenant.client.get(f"/warmups/{warmup['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"domain": "not-mine.example"}, ["body", "domain"]),
        (
            {"provider_config_id": "6f1c7f7e-5b0a-4c1e-9a53-3b7a5d2f9c10"},
            ["body", "provider_config_id"],
        ),
        ({}, ["body"]),
        ({"domain": "a.example", "daily_limits": [0]}, ["body", "daily_limits", 0]),
    ],
)
async def test_warmup_refused_naming_the_field(
    tenant: Tenant, body: dict[str, Any], field: list[Any]
) -> None:
    response = await tenant.client.post("/warmups", json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [field]
    assert (await tenant.client.get("/warmups")).json()["items"] == []


async def test_warmups_of_another_account_are_not_found(tenant: Tenant, make_tenant: Any) -> None:
    other = await make_tenant()
    mine = (await tenant.client.post("/warmups", json={"domain": tenant.domain})).json()
    assert (await other.client.get(f"/warmups/{mine['id']}")).status_code == 404
    assert (await other.client.delete(f"/warmups/{mine['id']}")).status_code == 404
