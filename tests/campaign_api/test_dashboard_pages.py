"""The dashboard's pages over HTTP (the app in process, real Postgres): campaign forms with
the API's errors beside their fields, the live count, the lifecycle through confirmation
pages, the template editor's errors at their line, suppressions, lead imports and the
progress numbers. The reports pages run on the whole stack (tests/e2e)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.campaign_api.dashboard.web import CSRF_FIELD, CSRF_HEADER, PREFIX
from shared.campaigns import guard_pause
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, make_lead, make_template
from tests.dashboard import sign_in

pytestmark = pytest.mark.postgres


class Dashboard:
    """A signed-in browser of one tenant's dashboard."""

    def __init__(self, client: httpx.AsyncClient, token: str, tenant: Tenant) -> None:
        self.client = client
        self.token = token
        self.tenant = tenant

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.client.get(f"{PREFIX}{path}", params=params)

    async def post(self, path: str, **fields: str) -> httpx.Response:
        return await self.client.post(f"{PREFIX}{path}", data={CSRF_FIELD: self.token, **fields})


@pytest.fixture
async def dash(api_app: FastAPI, tenant: Tenant) -> AsyncIterator[Dashboard]:
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard.test") as client:
        yield Dashboard(client, await sign_in(client, tenant.key), tenant)


def _campaign_form(template_id: str, domain: str, **overrides: str) -> dict[str, str]:
    form = {
        "name": "Winter news",
        "template_id": template_id,
        "from_local": "news",
        "from_domain": domain,
        "from_name": "News",
        "reply_local": "",
        "reply_domain": "",
        "scheduled_at": "",
        "condition": '{"field": "country", "op": "eq", "value": "DE"}',
    }
    return {**form, **overrides}


async def test_create_campaign_through_the_form(dash: Dashboard) -> None:
    template = await make_template(dash.tenant.client)
    empty = await dash.get("/campaigns/new")
    assert empty.status_code == 200
    assert f'value="{dash.tenant.domain}"' in empty.text  # verified domains offered
    assert template["name"] in empty.text
    created = await dash.post(
        "/campaigns/new", **_campaign_form(template["id"], dash.tenant.domain)
    )
    assert created.status_code == 303, created.text
    campaign_id = created.headers["location"].split("/")[-1].split("?")[0]
    shown = await dash.get(f"/campaigns/{campaign_id}")
    assert shown.status_code == 200 and "Winter news" in shown.text
    stored = (await dash.tenant.client.get(f"/campaigns/{campaign_id}")).json()
    assert (stored["from_email"], stored["condition"]["value"]) == (
        f"news@{dash.tenant.domain}",
        "DE",
    )


async def test_campaign_form_shows_the_api_errors_beside_their_fields(dash: Dashboard) -> None:
    template = await make_template(dash.tenant.client)
    bad = _campaign_form(
        template["id"],
        "unverified.example.com",
        condition='{"all": [{"field": "colour", "op": "eq", "value": "red"}]}',
    )
    answer = await dash.post("/campaigns/new", **bad)
    assert answer.status_code == 422
    error = re.search(r'id="condition-error" role="alert">([^<]*)<', answer.text)
    assert error and "$.all[0].field" in error.group(1) and "colour" in error.group(1)
    assert 'aria-describedby="condition-error"' in answer.text
    not_json = await dash.post("/campaigns/new", **{**bad, "condition": "{nope"})
    assert not_json.status_code == 422 and "not valid JSON" in not_json.text
    unverified = await dash.post(
        "/campaigns/new", **_campaign_form(template["id"], "unverified.example.com")
    )
    assert re.search(r'id="from_email-error"[^>]*>[^<]*unverified\.example\.com', unverified.text)


async def test_live_count_of_a_condition(dash: Dashboard) -> None:
    for country in ("DE", "DE", "FR"):
        await make_lead(
            dash.tenant.client, email=f"{uuid.uuid4().hex[:10]}@example.com", country=country
        )
    headers = {CSRF_HEADER: dash.token}

    async def count(condition: object) -> httpx.Response:
        return await dash.client.post(
            f"{PREFIX}/segments/preview", json={"condition": condition}, headers=headers
        )

    de = await count({"field": "country", "op": "eq", "value": "DE"})
    both = await count(
        {"any": [{"field": "country", "op": "eq", "value": c} for c in ("DE", "FR")]}
    )
    assert (de.json()["matched"], both.json()["matched"]) == (2, 3)
    wrong = await count({"all": [{"field": "country", "op": "gt", "value": 5}]})
    assert wrong.status_code == 422 and wrong.json()["path"] == "$.all[0].value"
    refused = await dash.client.post(f"{PREFIX}/segments/preview", json={"condition": {}})
    assert refused.status_code == 403  # no CSRF header


async def test_lifecycle_through_confirmation_pages(dash: Dashboard) -> None:
    campaign = await make_campaign(dash.tenant.client)
    campaign_id = campaign["id"]
    shown = await dash.get(f"/campaigns/{campaign_id}")
    assert f"/campaigns/{campaign_id}/confirm/launch" in shown.text
    for action, state in (("launch", "queued"), ("pause", "paused"), ("resume", "queued")):
        confirm = await dash.get(f"/campaigns/{campaign_id}/confirm/{action}")
        assert confirm.status_code == 200 and f"Yes, {action}" in confirm.text
        done = await dash.post(f"/campaigns/{campaign_id}/{action}")
        assert done.status_code == 303, done.text
        stored = (await dash.tenant.client.get(f"/campaigns/{campaign_id}")).json()
        assert stored["state"] == state
    again = await dash.post(f"/campaigns/{campaign_id}/launch")  # not a draft any more
    assert again.status_code == 409 and "cannot launch a campaign that is queued" in again.text
    await dash.post(f"/campaigns/{campaign_id}/cancel")
    stored = (await dash.tenant.client.get(f"/campaigns/{campaign_id}")).json()
    assert stored["state"] == "cancelled"
    page = await dash.get(f"/campaigns/{campaign_id}")
    assert "/confirm/" not in page.text  # nothing left to do with a cancelled campaign


async def test_guard_pause_shown_and_resumed_only_over_the_guard(
    dash: Dashboard, pool: asyncpg.Pool
) -> None:
    campaign = await make_campaign(dash.tenant.client)
    campaign_id = uuid.UUID(campaign["id"])
    assert (await dash.post(f"/campaigns/{campaign_id}/launch")).status_code == 303
    reason = "paused by guard: complaint rate 0.4 % over 1,000 outcomes (limit 0.1 %)"
    assert await guard_pause(pool, {campaign_id: reason}) == [campaign_id]

    shown = await dash.get(f"/campaigns/{campaign_id}")
    assert 'id="guard-reason"' in shown.text and reason in shown.text
    confirm = await dash.get(f"/campaigns/{campaign_id}/confirm/resume")
    assert reason in confirm.text and "Yes, resume anyway" in confirm.text
    assert 'name="override_guard" value="true"' in confirm.text
    # a resume posted without the page's override is the API's 409, shown with its reason
    refused = await dash.post(f"/campaigns/{campaign_id}/resume")
    assert refused.status_code == 409 and "override_guard=true" in refused.text
    stored = (await dash.tenant.client.get(f"/campaigns/{campaign_id}")).json()
    assert stored["state"] == "paused" and stored["guard"]["reason"] == reason

    done = await dash.post(f"/campaigns/{campaign_id}/resume", override_guard="true")
    assert done.status_code == 303, done.text
    stored = (await dash.tenant.client.get(f"/campaigns/{campaign_id}")).json()
    assert stored["state"] == "queued" and stored["guard"] is None
    assert stored["guard_overridden_at"] is not None
    assert 'id="guard-reason"' not in (await dash.get(f"/campaigns/{campaign_id}")).text


async def test_progress_numbers_with_rate_and_eta(dash: Dashboard) -> None:
    campaign = await make_campaign(dash.tenant.client)
    answer = await dash.get(f"/campaigns/{campaign['id']}/progress")
    body = answer.json()
    assert (body["state"], body["done"], body["rate"], body["running"]) == ("draft", 0, None, False)
    earlier = await dash.get(
        f"/campaigns/{campaign['id']}/progress", since_done="0", since_at=str(time.time() - 5)
    )
    assert earlier.json()["rate"] == 0.0


async def test_template_error_is_shown_at_its_line(dash: Dashboard) -> None:
    html_body = "<p>Hello</p>\n<p>{{ first_name }}</p>\n<p>{{ first_name }</p>\n<p>Bye</p>"
    fields = {"name": "broken", "subject": "Hi", "html_body": html_body, "text_body": ""}
    answer = await dash.post("/templates/new", **fields)
    assert answer.status_code == 422
    line = re.search(r'<li id="html_body-line-3" class="bad"[^>]*>(.*?)</li>', answer.text, re.S)
    assert line, answer.text
    assert "{{ first_name }" in line.group(1) and 'class="line-error"' in line.group(1)
    assert (
        'id="html_body-line-2"' in answer.text
        and 'id="html_body-line-2" class="bad"' not in answer.text
    )
    fields["html_body"] = html_body.replace("{{ first_name }<", "{{ first_name }}<")
    saved = await dash.post("/templates/new", **fields)
    assert saved.status_code == 303
    editor = await dash.client.get(saved.headers["location"])
    assert "Template saved." in editor.text
    assert 'data-insert="{{ first_name }}"' in editor.text


async def test_suppressions_add_search_remove(dash: Dashboard) -> None:
    tag = uuid.uuid4().hex[:8]
    for name in ("ada", "bob"):
        added = await dash.post("/suppressions", email=f"{name}-{tag}@example.com", reason="asked")
        assert added.status_code == 303
    found = await dash.get("/suppressions", prefix=f"ADA-{tag}")
    assert f"ada-{tag}@example.com" in found.text and f"bob-{tag}@example.com" not in found.text
    bad = await dash.post("/suppressions", email="not an address")
    assert bad.status_code == 422 and 'id="email-error"' in bad.text
    removed = await dash.post("/suppressions/remove", email=f"ada-{tag}@example.com")
    assert removed.status_code == 303
    after = await dash.get("/suppressions", prefix=f"ada-{tag}")
    assert f"ada-{tag}@example.com" not in after.text


async def test_import_csv_as_the_script_sends_it_and_as_a_form(dash: Dashboard) -> None:
    tag = uuid.uuid4().hex[:8]
    csv = f"email,first_name,country\na-{tag}@example.com,Ada,DE\nnot-an-email,Bob,FR\n"
    raw = await dash.client.post(
        f"{PREFIX}/leads/import",
        content=csv.encode(),
        headers={"Content-Type": "text/csv", CSRF_HEADER: dash.token},
    )
    body = raw.json()
    assert (body["created"], body["rejected"]) == (1, 1)
    assert body["rejected_rows"][0]["line"] == 3
    form = await dash.client.post(
        f"{PREFIX}/leads/import",
        data={CSRF_FIELD: dash.token, "on_conflict": "update"},
        files={"file": ("leads.csv", csv.replace("a-", "b-").encode(), "text/csv")},
    )
    assert form.status_code == 200, form.text
    assert "1 created" in form.text and re.search(r'<td class="num">3</td><td>email', form.text)
    found = await dash.get("/leads", email=f"B-{tag}@example.com")
    assert found.status_code == 303 and "/leads/" in found.headers["location"]
