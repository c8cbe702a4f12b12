"""A launch or schedule test-renders the template for the matched leads (issue 10, item 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, make_lead, make_template

pytestmark = pytest.mark.postgres

COMPANY = "<p>Hi {{ first_name }},</p>\n<p>\n{{ attributes.company }} news</p>"


async def _leads(tenant: Tenant, *, with_company: int, without: int, elsewhere: int = 0) -> None:
    """Leads in DE (the helpers' condition) with and without a company; some in FR."""
    specs = (
        [("DE", {"company": "Acme", "plan": "pro"})] * with_company
        + [("DE", {"plan": "free"})] * without
        + [("FR", {})] * elsewhere
    )
    for i, (country, attributes) in enumerate(specs):
        await make_lead(
            tenant.client, email=f"l{i}@example.com", country=country, attributes=attributes
        )


async def _campaign(tenant: Tenant, html_body: str, **extra: Any) -> dict[str, Any]:
    template = await make_template(tenant.client, html_body=html_body)
    return await make_campaign(tenant.client, template_id=template["id"], **extra)


async def _state(pool: asyncpg.Pool, campaign: dict[str, Any]) -> str:
    return str(await pool.fetchval("SELECT state FROM campaigns WHERE id = $1", campaign["id"]))


async def test_launch_campaign_missing_attribute_is_422_with_variable_and_count(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    await _leads(tenant, with_company=1, without=20, elsewhere=5)
    campaign = await _campaign(tenant, COMPANY)
    response = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"] == (
        "html_body line 3: attributes.company is missing for 20 of 21 matched leads; "
        "use {{ attributes.company | default('') }} or narrow the condition"
    )
    assert problem["extra"] == {
        "line": 3,
        "variable": "attributes.company",
        "failing_leads": 20,
        "matched_leads": 21,
        "kind": "lead_data",
    }
    assert problem["errors"][0]["loc"] == ["template", "html_body"]
    assert await _state(pool, campaign) == "draft"


async def test_schedule_campaign_missing_attribute_is_422(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    await _leads(tenant, with_company=2, without=3)
    later = datetime.now(UTC) + timedelta(hours=1)
    campaign = await _campaign(tenant, COMPANY, scheduled_at=later.isoformat())
    response = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert response.status_code == 422
    assert "missing for 3 of 5 matched leads" in response.json()["detail"]
    assert await _state(pool, campaign) == "draft"


@pytest.mark.parametrize(
    "html_body",
    [
        "{{ attributes.company | default('') }}",
        "{% if attributes.company is defined %}{{ attributes.company }}{% endif %}",
        "{{ attributes.get('company') }} {{ attributes.plan }}",
        "{% for key, value in attributes.items() %}{{ key }}={{ value }}{% endfor %}",
    ],
)
async def test_launch_campaign_template_that_renders_for_every_lead(
    tenant: Tenant, html_body: str
) -> None:
    await _leads(tenant, with_company=1, without=4, elsewhere=2)
    campaign = await _campaign(tenant, html_body)
    response = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "queued"


async def test_launch_campaign_lists_every_cause_costliest_first(tenant: Tenant) -> None:
    await _leads(tenant, with_company=3, without=2)
    # every lead lacks `region`; the two without a company stop at `company` first
    html = "{{ attributes.company }}\n{{ attributes.region }}"
    response = await tenant.client.post(
        f"/campaigns/{(await _campaign(tenant, html))['id']}/launch"
    )
    messages = [error["msg"] for error in response.json()["errors"]]
    assert [m.split(";")[0] for m in messages] == [
        "html_body line 2: attributes.region is missing for 3 of 5 matched leads",
        "html_body line 1: attributes.company is missing for 2 of 5 matched leads",
    ]


async def test_launch_campaign_over_render_budget_is_422_naming_the_limit(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    await make_lead(tenant.client, email="big@example.com", country="DE", attributes={"n": 10**5})
    html = (
        "{% for a in range(attributes.n) %}{% for b in range(attributes.n) %}"
        "{% endfor %}{% endfor %}"
    )
    campaign = await _campaign(tenant, html)
    response = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert response.status_code == 422
    problem = response.json()
    assert problem["extra"]["kind"] == "budget"
    assert "loop iterations" in problem["detail"] or "CPU time" in problem["detail"]
    assert await _state(pool, campaign) == "draft"


async def test_launch_campaign_without_matched_leads_is_not_checked(tenant: Tenant) -> None:
    campaign = await _campaign(tenant, COMPANY)
    response = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert response.status_code == 202
