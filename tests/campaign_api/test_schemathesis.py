"""Schemathesis against campaign_api's OpenAPI schema, served by uvicorn: no 5xx.

Authenticated with a real key; path parameters also pinned to real objects of the
account, so the deeper validation paths run too (`tests/fuzz.py`).
"""

from __future__ import annotations

import pytest

from services.campaign_api.config import Settings
from services.campaign_api.main import create_app
from shared.settings import CommonSettings
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, make_lead
from tests.fuzz import fuzz, serving

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SKIPPED = {"/readyz"}  # asks the broker each time; covered by test_auth


async def test_schemathesis_finds_no_server_error(
    base_settings: CommonSettings, pg_dsn: str, tenant: Tenant
) -> None:
    lead = await make_lead(tenant.client, email="fuzz@example.com", attributes={"plan": "pro"})
    campaign = await make_campaign(tenant.client)
    pinned = {
        "lead_id": lead["id"],
        "template_id": campaign["template_id"],
        "campaign_id": campaign["id"],
        "email": "fuzz@example.com",
    }
    common = base_settings.model_copy(update={"database_url": pg_dsn})
    async with serving(create_app(Settings(common=common))) as base_url:
        headers = {"Authorization": f"Bearer {tenant.key}"}
        run = await fuzz(base_url, headers, pinned=pinned, skipped=SKIPPED)
    assert run.failures == []
    # the run really exercised the API: many requests, and past validation into the handlers
    assert run.sent > 500
    assert run.count(200, 201, 202, 204) > 50
    assert run.statuses[422] > 50
