"""Condition warnings: attribute keys no lead has and values of another type, on preview and
on campaign drafts; and the attribute-key catalogue they read, kept by every kind of write."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.campaign_api.attribute_keys import attribute_catalogue
from tests.campaign_api.conftest import Tenant, TenantFactory
from tests.campaign_api.helpers import make_campaign, make_lead

pytestmark = pytest.mark.postgres


def _cmp(field: str, value: Any, op: str = "eq") -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


async def _preview(tenant: Tenant, condition: dict[str, Any]) -> dict[str, Any]:
    response = await tenant.client.post("/segments/preview", json={"condition": condition})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_preview_warns_about_unknown_key_with_close_match(tenant: Tenant) -> None:
    await make_lead(tenant.client, email="a@example.com", attributes={"plan": "pro", "seats": 10})
    condition = {"all": [_cmp("country", "DE"), _cmp("attributes.Plan", "pro")]}
    preview = await _preview(tenant, condition)
    assert preview["matched"] == 0
    [warning] = preview["warnings"]
    assert warning["type"] == "unknown_attribute"
    assert warning["path"] == "$.all[1].field"
    assert warning["suggestions"] == ["attributes.plan"]
    assert "'Plan'" in warning["msg"]
    unrelated = await _preview(tenant, {"not": _cmp("attributes.zzz", 1)})
    assert [w["suggestions"] for w in unrelated["warnings"]] == [[]]


async def test_preview_warns_about_value_of_other_type(tenant: Tenant) -> None:
    await make_lead(tenant.client, email="a@example.com", attributes={"seats": 10, "vip": True})
    text = await _preview(tenant, _cmp("attributes.seats", "10"))
    [warning] = text["warnings"]
    assert (warning["type"], warning["path"], warning["suggestions"]) == (
        "attribute_type",
        "$.value",
        ["10"],
    )
    assert "number" in warning["msg"]
    listed = await _preview(tenant, {"any": [_cmp("attributes.seats", ["1", "2"], "in")]})
    assert listed["warnings"][0]["suggestions"] == ["[1, 2]"]
    flag = await _preview(tenant, _cmp("attributes.vip", "true"))
    assert flag["warnings"][0]["suggestions"] == ["true"]


async def test_preview_matching_condition_has_no_warnings(tenant: Tenant) -> None:
    await make_lead(tenant.client, email="a@example.com", attributes={"plan": "pro", "seats": 10})
    condition = {
        "all": [
            _cmp("attributes.plan", "pro"),
            _cmp("attributes.seats", 5, "gt"),
            _cmp("attributes.plan", True, "exists"),
            _cmp("email", "a@example.com"),
        ]
    }
    preview = await _preview(tenant, condition)
    assert (preview["matched"], preview["warnings"]) == (1, [])


async def test_warnings_see_only_the_accounts_own_keys(make_tenant: TenantFactory) -> None:
    owner, other = await make_tenant(), await make_tenant()
    await make_lead(other.client, email="a@example.com", attributes={"plan": "pro"})
    preview = await _preview(owner, _cmp("attributes.plan", "pro"))
    assert [w["type"] for w in preview["warnings"]] == ["unknown_attribute"]


async def test_create_campaign_answers_warnings(tenant: Tenant) -> None:
    await make_lead(tenant.client, email="a@example.com", attributes={"plan": "pro"})
    campaign = await make_campaign(tenant.client, condition=_cmp("attributes.Plan", "pro"))
    assert [w["suggestions"] for w in campaign["warnings"]] == [["attributes.plan"]]
    assert campaign["state"] == "draft"  # saved: a warning is not an error
    edited = await tenant.client.patch(
        f"/campaigns/{campaign['id']}", json={"condition": _cmp("attributes.plan", 1)}
    )
    assert [w["type"] for w in edited.json()["warnings"]] == ["attribute_type"]
    fetched = await tenant.client.get(f"/campaigns/{campaign['id']}")
    assert fetched.json()["warnings"] == []


async def test_catalogue_follows_create_update_and_import(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    lead = await make_lead(tenant.client, email="a@example.com", attributes={"plan": "pro"})
    await tenant.client.patch(f"/leads/{lead['id']}", json={"attributes": {"seats": 3}})
    csv = b'email,score,attributes\na@example.com,7,\nb@example.com,,{"deep": {"x": 1}}\n'
    response = await tenant.client.post(
        "/leads/import", content=csv, headers={"content-type": "text/csv"}
    )
    assert response.json()["updated"] == 1, response.text
    catalogue = await attribute_catalogue(pool, tenant.account_id)
    assert catalogue == {
        "plan": {"string"},  # keys are kept after leads drop them
        "seats": {"number"},
        "score": {"number"},
        "deep": {"object"},
    }
