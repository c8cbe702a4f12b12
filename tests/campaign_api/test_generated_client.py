"""The generated Python client (`fanout_client`, clients/python) is current and works.

The committed OpenAPI document must equal what the app serves (else `make client`), and
the journey a user's code makes goes through the generated client end to end: against
the real app (in-process) on the real Postgres, with the account's key from the factories.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fanout_client import AuthenticatedClient
from fanout_client.api.campaigns import (
    create_campaign,
    get_campaign,
    launch_campaign,
    list_campaigns,
    pause_campaign,
)
from fanout_client.api.segments import preview
from fanout_client.api.templates import create_template, preview_template
from fanout_client.models import (
    CampaignCreate,
    ImportResult,
    PreviewRequest,
    Problem,
    SegmentPreviewRequest,
    State,
    TemplateCreate,
)
from fastapi import FastAPI

from fanout_cli.api_client import api_client, checked, import_leads
from fanout_cli.stack.errors import StackError
from services.campaign_api.openapi_document import DOCUMENT, document_text
from services.esp_simulator.testing import serving
from tests.campaign_api.conftest import Tenant

CSV = "email,first_name,country\n" + "".join(
    f"lead{n}@example.com,Ada{n},{'DE' if n % 2 else 'US'}\n" for n in range(6)
)
GERMANS = {"field": "country", "op": "eq", "value": "DE"}


def test_openapi_document_is_current() -> None:
    """clients/python/openapi.json is what campaign_api serves; `make client` refreshes it."""
    assert DOCUMENT.read_text(encoding="utf-8") == document_text(), "run `make client`"


@pytest.fixture
async def api(api_app: FastAPI, tenant: Tenant) -> AsyncIterator[AuthenticatedClient]:
    """The generated client as a user makes it, its requests served by the app in-process."""
    transport = httpx.ASGITransport(app=api_app)
    args = {"transport": transport}
    async with AuthenticatedClient("http://api", token=tenant.key, httpx_args=args) as client:
        yield client


async def test_generated_client_runs_the_journey(api: AuthenticatedClient, tenant: Tenant) -> None:
    imported = await api.get_async_httpx_client().post(
        "/leads/import", content=CSV, headers={"Content-Type": "text/csv"}
    )
    assert ImportResult.from_dict(imported.json()).accepted == 6
    matching = await preview.asyncio(client=api, body=SegmentPreviewRequest(GERMANS))
    assert not isinstance(matching, Problem) and matching and matching.matched == 3
    source = TemplateCreate(name="hello", subject="Hi {{ first_name }}", text_body="{{ country }}")
    template = await create_template.asyncio(client=api, body=source)
    assert not isinstance(template, Problem) and template
    lead_id = matching.sample[0].id
    shown = await preview_template.asyncio(template.id, client=api, body=PreviewRequest(lead_id))
    assert not isinstance(shown, Problem) and shown and shown.subject.startswith("Hi Ada")
    body = CampaignCreate("news", tenant.sender, template.id, GERMANS)
    draft = await create_campaign.asyncio(client=api, body=body)
    assert not isinstance(draft, Problem) and draft and draft.state == State.DRAFT
    launched = await launch_campaign.asyncio(draft.id, client=api)
    assert not isinstance(launched, Problem) and launched and launched.state == State.QUEUED
    paused = await pause_campaign.asyncio(draft.id, client=api)
    assert not isinstance(paused, Problem) and paused and paused.state == State.PAUSED
    read = await get_campaign.asyncio(draft.id, client=api)
    assert not isinstance(read, Problem) and read and read.run_id == launched.run_id
    listed = await list_campaigns.asyncio(client=api)
    assert not isinstance(listed, Problem) and listed and [c.id for c in listed.items] == [draft.id]


async def test_generated_client_answers_a_problem_for_a_bad_request(
    api: AuthenticatedClient, tenant: Tenant
) -> None:
    bad = CampaignCreate("news", tenant.sender, tenant.account_id, {"field": "colour"})
    answer = await create_campaign.asyncio_detailed(client=api, body=bad)
    assert answer.status_code == 422
    assert isinstance(answer.parsed, Problem) and "condition" in answer.parsed.detail


def _cli_steps(url: str, tenant: Tenant) -> int:
    """What the CLI does through the generated client: an import, then a refused draft."""
    with api_client(url, tenant.key, timeout_s=30) as api:
        accepted = import_leads(api, CSV.encode(), "text/csv").accepted
        bad = CampaignCreate("news", tenant.sender, tenant.account_id, GERMANS)
        with pytest.raises(StackError, match=r"^creating campaign failed: HTTP 422: .*template"):
            checked(create_campaign.sync_detailed(client=api, body=bad), "creating campaign")
    return accepted


async def test_cli_client_imports_and_names_the_refused_step(
    api_app: FastAPI, tenant: Tenant
) -> None:
    async with serving(api_app, lifespan=False) as url:
        assert await asyncio.to_thread(_cli_steps, url, tenant) == 6
