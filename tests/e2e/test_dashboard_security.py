"""The dashboard's pages that read reports, over HTTP on the running stack (no browser):
a sent campaign's report, recipients, CSV export and lead history show lead data as
text, and answer 404 to another account, exactly as the reports API scopes them."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from fanout_cli.api_client import api_client, import_leads
from fanout_cli.demo.api_calls import checked_json
from fanout_cli.demo.run import API, REPORTS
from services.campaign_api.dashboard.web import PREFIX
from shared.settings import CommonSettings
from tests.dashboard import HOSTILE_LEAD, IMG, SCRIPT, assert_shown_as_text, sign_in
from tests.e2e.dashboard_world import DashboardAccount, make_account, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres, pytest.mark.clickhouse]

# An address whose characters mean something in HTML, yet a valid one (RFC 5322 atext).
ODD_LOCAL = "o'hare&co"


def _sent_campaign(owner: DashboardAccount, tag: str) -> tuple[str, dict[str, Any]]:
    """A campaign of a few leads (the hostile one among them) sent and reported; its id
    and the hostile lead."""
    auth = {"Authorization": f"Bearer {owner.key}"}
    hostile = {"email": f"{ODD_LOCAL}-{tag}@example.com", **HOSTILE_LEAD}
    with httpx.Client(base_url=API, headers=auth, timeout=60) as api:
        lead = checked_json(api.post("/leads", json=hostile), "creating the hostile lead")
        with api_client(API, owner.key) as client:
            rows = [f'{{"email": "n{i}-{tag}@example.com"}}\n'.encode() for i in range(9)]
            import_leads(client, iter(rows), "application/x-ndjson")
        template = checked_json(
            api.post("/templates", json={"name": "t", "subject": "Hi {{ first_name }}",
                                         "text_body": "Hello"}),
            "creating a template",
        )  # fmt: skip
        body = {
            "name": f"{SCRIPT} campaign",
            "from_email": f"news@{owner.domain}",
            "template_id": template["id"],
            "condition": {"field": "email", "op": "ends_with", "value": f"-{tag}@example.com"},
        }
        campaign = checked_json(api.post("/campaigns", json=body), "creating a campaign")
        checked_json(api.post(f"/campaigns/{campaign['id']}/launch"), "launching")
        wait_for(
            lambda: api.get(f"/campaigns/{campaign['id']}").json()["state"] == "completed",
            "the campaign to complete",
        )
        recipients = f"{REPORTS}/reports/campaigns/{campaign['id']}/recipients"
        wait_for(lambda: len(api.get(recipients).json()["items"]) == 10, "the reports")
    return str(campaign["id"]), lead


async def _pages(
    owner: DashboardAccount, other: DashboardAccount, campaign_id: str, lead: dict[str, Any]
) -> None:
    async with (
        httpx.AsyncClient(base_url=API) as mine,
        httpx.AsyncClient(base_url=API) as theirs,
    ):
        await sign_in(mine, owner.key)
        await sign_in(theirs, other.key)
        report = f"{PREFIX}/campaigns/{campaign_id}/report"
        pages = {
            "report": report,  # its recipients table lists the 10 leads, the hostile one too
            "lead": f"{PREFIX}/leads/{lead['id']}",
            "leads": f"{PREFIX}/leads",
            "campaign": f"{PREFIX}/campaigns/{campaign_id}",
            "campaigns": f"{PREFIX}/campaigns",
        }
        for name, path in pages.items():
            answer = await mine.get(path)
            assert answer.status_code == 200, (name, answer.text)
            assert_shown_as_text(answer.text, SCRIPT)  # the campaign's name, or the lead's
        report_page = (await mine.get(report)).text
        assert_shown_as_text(report_page, lead["email"])
        lead_page = (await mine.get(pages["lead"])).text
        assert_shown_as_text(lead_page, SCRIPT, IMG, lead["email"])
        export = await mine.get(f"{PREFIX}/campaigns/{campaign_id}/recipients.csv")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        assert len(export.text.strip().splitlines()) == 11  # the header and 10 recipients
        for path in (
            report,
            pages["lead"],
            f"{PREFIX}/campaigns/{campaign_id}/recipients.csv",
            f"{PREFIX}/campaigns/{campaign_id}/progress",
        ):
            answer = await theirs.get(path)
            assert answer.status_code == 404, (path, answer.status_code)
            assert lead["email"] not in answer.text


def test_reports_pages_show_lead_data_as_text_and_only_to_its_account(
    stack: CommonSettings,
) -> None:
    owner, other = make_account(stack, "Dashboard C"), make_account(stack, "Dashboard D")
    started = time.monotonic()
    campaign_id, lead = _sent_campaign(owner, uuid.uuid4().hex[:8])
    assert time.monotonic() - started < 120
    asyncio.run(_pages(owner, other, campaign_id, lead))
