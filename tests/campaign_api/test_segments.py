"""Segment preview: counts and samples the account's matching leads only."""

from __future__ import annotations

import pytest

from tests.campaign_api.conftest import TenantFactory
from tests.campaign_api.helpers import make_lead

pytestmark = pytest.mark.postgres


async def test_preview_segment_counts_own_leads(make_tenant: TenantFactory) -> None:
    owner, other = await make_tenant(), await make_tenant()
    csv = "email,country\n" + "".join(
        f"u{i}@example.com,{'DE' if i % 3 == 0 else 'FR'}\n" for i in range(30)
    )
    for tenant in (owner, other):
        response = await tenant.client.post(
            "/leads/import", content=csv.encode(), headers={"content-type": "text/csv"}
        )
        assert response.json()["accepted"] == 30
    await make_lead(owner.client, email="x@example.com", country="DE", tags=["vip"])
    body = {"condition": {"field": "country", "op": "eq", "value": "DE"}}
    preview = (await owner.client.post("/segments/preview", json=body)).json()
    assert preview["matched"] == 11
    assert len(preview["sample"]) == 10
    assert {lead["country"] for lead in preview["sample"]} == {"DE"}
    ids = [lead["id"] for lead in preview["sample"]]
    assert ids == sorted(ids)


async def test_preview_segment_invalid_condition_names_path(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    body = {
        "condition": {
            "all": [
                {"field": "country", "op": "eq", "value": "DE"},
                {"field": "colour", "op": "eq", "value": "red"},
            ]
        }
    }
    response = await tenant.client.post("/segments/preview", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"].startswith("body.condition: $.all[1].field: unknown field")
    (error,) = problem["errors"]
    assert error["path"] == "$.all[1].field"
    assert error["loc"] == ["body", "condition"]
    assert "unknown field" in error["msg"]
    assert "expected" in error["msg"]
