"""Provider configurations per account (issue 13): CRUD, account scoping, write-only secrets,
and campaigns refused when their configuration is missing, foreign or disabled.

campaign_api's routes on the session database; the sealing is the real one.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from services.campaign_api.providers.edits import reseal_stale
from shared.provider_configs import records
from shared.sealing import Sealer
from shared.settings import CommonSettings
from tests.campaign_api.conftest import Tenant, TenantFactory
from tests.campaign_api.helpers import campaign_body, create, make_campaign, make_template

pytestmark = pytest.mark.postgres

SECRET = "SG.do-not-show-this-key-" + uuid.uuid4().hex
SENDGRID = {"name": "sg", "kind": "sendgrid", "credentials": {"api_key": SECRET}}


async def _create(tenant: Tenant, **body: Any) -> dict[str, Any]:
    return await create(tenant.client, "/providers", {**SENDGRID, **body})


async def test_create_list_get_update_delete_provider(tenant: Tenant) -> None:
    with capture_logs() as logs:
        created = await _create(tenant, settings={"rate_per_s": 50})
        listed = (await tenant.client.get("/providers", params={"limit": 1})).json()
        second = await tenant.client.get("/providers", params={"cursor": listed["next_cursor"]})
        got = (await tenant.client.get(f"/providers/{created['id']}")).json()
        rotated = await tenant.client.patch(
            f"/providers/{created['id']}", json={"credentials": {"api_key": SECRET + "2"}}
        )
    assert created["settings"]["rate_per_s"] == 50.0  # defaults filled in:
    assert created["settings"]["base_url"] == "https://api.sendgrid.com"
    assert created["credentials_set"] is True and "credentials" not in created
    names = {c["name"] for c in listed["items"] + second.json()["items"]}
    assert names == {"simulator", "sg"}  # every account starts with the simulator default
    assert got == created
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["credentials_fingerprint"] != created["credentials_fingerprint"]
    everything = str(logs) + str(listed) + second.text + rotated.text
    assert SECRET not in everything
    assert (await tenant.client.delete(f"/providers/{created['id']}")).status_code == 204
    assert (await tenant.client.get(f"/providers/{created['id']}")).status_code == 404


async def test_credentials_are_sealed_at_rest(tenant: Tenant, pool: asyncpg.Pool) -> None:
    created = await _create(tenant)
    raw = await pool.fetchval(
        "SELECT credentials FROM provider_configs WHERE id = $1", created["id"]
    )
    assert SECRET.encode() not in bytes(raw)
    stored = await records.load(pool, uuid.UUID(created["id"]))
    assert stored is not None
    sealing = records.sealer(CommonSettings(environment="test"))
    assert stored.open_credentials(sealing) == {"api_key": SECRET}


async def test_sealing_key_rotation_reseals_and_still_opens(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    created = await _create(tenant)
    old = CommonSettings(environment="test").secret("provider_key_secret")
    new = "a new sealing secret " + uuid.uuid4().hex
    rotated = Sealer(new, records.PURPOSE, [old])
    try:
        assert await reseal_stale(pool, rotated) >= 1
        stored = await records.load(pool, uuid.UUID(created["id"]))
        assert stored is not None and stored.credentials is not None
        assert stored.credentials.key_id == rotated.current_id
        assert stored.open_credentials(rotated) == {"api_key": SECRET}
        assert await reseal_stale(pool, rotated) == 0  # nothing stale is left
    finally:  # the session's other tests seal and open under the process's key
        await reseal_stale(pool, Sealer(old, records.PURPOSE, [new]))


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"kind": "ses", "settings": {}}, ["body", "settings", "configuration_set_name"]),
        ({"kind": "mailgun", "credentials": {"api_key": "k"}}, ["body", "settings", "domain"]),
        ({"kind": "sendgrid", "credentials": {}}, ["body", "credentials", "api_key"]),
        ({"settings": {"rate_per_s": -1}}, ["body", "settings", "rate_per_s"]),
        ({"settings": {"regoin": "eu"}}, ["body", "settings", "regoin"]),
        ({"kind": "fax"}, ["body", "kind"]),
        (
            {"kind": "simulator", "settings": {"base_url": "https://x.example"}, "credentials": {}},
            ["body", "credentials", "api_key"],
        ),
    ],
)
async def test_create_provider_invalid_is_422_naming_the_field(
    tenant: Tenant, body: dict[str, Any], loc: list[str]
) -> None:
    response = await tenant.client.post("/providers", json={**SENDGRID, **body})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == loc
    assert SECRET not in response.text


async def test_providers_of_another_account_are_not_found(make_tenant: TenantFactory) -> None:
    owner, other = await make_tenant(), await make_tenant()
    created = await _create(owner)
    path = f"/providers/{created['id']}"
    assert (await other.client.get(path)).status_code == 404
    assert (await other.client.patch(path, json={"name": "x"})).status_code == 404
    assert (await other.client.delete(path)).status_code == 404
    listed = (await other.client.get("/providers")).json()["items"]
    assert [c["name"] for c in listed] == ["simulator"]


async def test_campaign_naming_a_missing_or_foreign_provider_is_422(
    make_tenant: TenantFactory,
) -> None:
    owner, other = await make_tenant(), await make_tenant()
    foreign = (await _create(other))["id"]
    answers = []
    for config_id in (foreign, str(uuid.uuid4())):
        template = (await make_template(owner.client))["id"]
        body = campaign_body(template, owner.sender, provider_config_id=config_id)
        answers.append(await owner.client.post("/campaigns", json=body))
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json()["detail"] == answers[1].json()["detail"]  # no existence leak
    assert answers[0].json()["errors"][0]["loc"] == ["body", "provider_config_id"]


async def test_campaign_uses_the_default_or_named_provider(tenant: Tenant) -> None:
    default = await make_campaign(tenant.client)
    [simulator] = [
        c for c in (await tenant.client.get("/providers")).json()["items"] if c["is_default"]
    ]
    assert (default["provider"], default["provider_config_id"]) == ("simulator", simulator["id"])
    created = await _create(tenant)
    by_kind = await make_campaign(tenant.client, provider="sendgrid")
    assert by_kind["provider_config_id"] == created["id"]
    missing = await tenant.client.post(
        "/campaigns", json={**_draft(by_kind), "provider": "postmark"}
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["body", "provider"]


async def test_disabled_provider_refuses_launch_and_in_use_refuses_delete(tenant: Tenant) -> None:
    created = await _create(tenant)
    campaign = await make_campaign(tenant.client, provider_config_id=created["id"])
    path = f"/providers/{created['id']}"
    assert (await tenant.client.patch(path, json={"state": "disabled"})).status_code == 200
    launch = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert launch.status_code == 409, launch.text
    assert "disabled by the account" in launch.json()["detail"]
    deleted = await tenant.client.delete(path)
    assert deleted.status_code == 409
    assert deleted.json()["extra"]["campaign_ids"] == [campaign["id"]]


def _draft(campaign: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "from_email", "template_id", "condition")
    return {k: campaign[k] for k in keys}
