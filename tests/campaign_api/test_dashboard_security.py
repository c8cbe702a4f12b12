"""The dashboard's security, over HTTP without a browser (the app in process, real Postgres):
CSRF on every state-changing route, cookie flags, a new session id at sign-in, sign-out
and key revocation ending a session, the key never in a page, another account's objects
answering 404, and lead data shown as text. The pages that read reports are checked on
the running stack (tests/e2e/test_dashboard_security.py)."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from services.campaign_api.dashboard.web import (
    CSRF_FIELD,
    CSRF_HEADER,
    PREFIX,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
)
from tests.campaign_api.conftest import Tenant, TenantFactory
from tests.campaign_api.helpers import make_campaign, make_lead, make_template
from tests.dashboard import (
    HOSTILE_LEAD,
    IMG,
    SCRIPT,
    assert_shown_as_text,
    dashboard_of,
    hidden_token,
    sign_in,
    state_changing_routes,
)

pytestmark = pytest.mark.postgres

Browser = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def browser(api_app: FastAPI) -> AsyncIterator[Browser]:
    """Makes clients that behave like browsers of the dashboard (cookies, no redirects
    followed), over http or https."""
    clients: list[httpx.AsyncClient] = []

    def make(scheme: str = "http") -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api_app), base_url=f"{scheme}://dashboard.test"
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def _filled(path: str, campaign_id: str, template_id: str) -> str:
    values = {
        "{campaign_id}": campaign_id,
        "{template_id}": template_id,
        "{lead_id}": str(uuid.uuid4()),
        "{action}": "pause",
    }
    for name, value in values.items():
        path = path.replace(name, value)
    assert "{" not in path, f"a path parameter this test does not fill: {path}"
    return path


def test_every_state_changing_route_is_enumerated(api_app: FastAPI) -> None:
    routes = state_changing_routes(dashboard_of(api_app))
    assert len(routes) >= 10
    assert ("POST", f"{PREFIX}/sign-in") in routes
    assert ("POST", f"{PREFIX}/campaigns/{{campaign_id}}/{{action}}") in routes


async def test_every_state_changing_route_requires_the_csrf_token(
    api_app: FastAPI, browser: Browser, tenant: Tenant
) -> None:
    campaign = await make_campaign(tenant.client)
    for method, template in state_changing_routes(dashboard_of(api_app)):
        path = _filled(template, campaign["id"], campaign["template_id"])
        if path == f"{PREFIX}/sign-in":
            continue  # below: it has no session yet, its token is bound to a cookie
        client = browser()
        token = await sign_in(client, tenant.key)
        for refused in ({}, {CSRF_FIELD: "forged"}):
            answer = await client.request(method, path, data=refused)
            assert answer.status_code == 403, (method, path, refused, answer.text)
        header = await client.request(method, path, headers={CSRF_HEADER: token[::-1]})
        assert header.status_code == 403, (method, path)
        allowed = await client.request(method, path, data={CSRF_FIELD: token})
        assert allowed.status_code != 403, (method, path, allowed.text)
    after = (await tenant.client.get(f"/campaigns/{campaign['id']}")).json()
    assert after["name"] == campaign["name"]  # the refused requests changed nothing


async def test_sign_in_requires_the_token_of_its_form(browser: Browser, tenant: Tenant) -> None:
    client = browser()
    form = await client.get(f"{PREFIX}/sign-in")
    token = hidden_token(form.text)
    assert client.cookies.get(SIGN_IN_COOKIE) == token
    stranger = browser()  # a page on another site posting the form: no cookie of ours
    forged = await stranger.post(
        f"{PREFIX}/sign-in", data={"api_key": tenant.key, CSRF_FIELD: token}
    )
    assert forged.status_code == 403
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")


def _copy_session_cookie(source: httpx.AsyncClient, target: httpx.AsyncClient) -> None:
    """Put `source`'s session cookie into `target`'s jar, as someone who planted or
    copied it would have it."""
    [cookie] = [c for c in source.cookies.jar if c.name == SESSION_COOKIE]
    target.cookies.jar.set_cookie(copy.copy(cookie))


def _set_cookie(answer: httpx.Response, name: str) -> str:
    [cookie] = [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    return cookie


async def _sign_in_answer(client: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await client.get(f"{PREFIX}/sign-in")
    return await client.post(
        f"{PREFIX}/sign-in", data={"api_key": key, CSRF_FIELD: hidden_token(form.text)}
    )


async def test_session_cookie_flags(browser: Browser, tenant: Tenant) -> None:
    plain = _set_cookie(await _sign_in_answer(browser("http"), tenant.key), SESSION_COOKIE)
    flags = {part.strip().lower() for part in plain.split(";")[1:]}
    assert {"httponly", "samesite=lax", f"path={PREFIX}"} <= flags
    assert "secure" not in flags  # a plain-http local stack: the browser would drop it
    tls = _set_cookie(await _sign_in_answer(browser("https"), tenant.key), SESSION_COOKIE)
    assert "secure" in {part.strip().lower() for part in tls.split(";")[1:]}
    value = plain.split(";")[0].split("=", 1)[1]
    assert tenant.key not in plain and len(value) >= 40


async def test_sign_in_makes_a_new_session_id_and_drops_a_planted_one(
    browser: Browser, make_tenant: TenantFactory
) -> None:
    attacker, victim = await make_tenant(), await make_tenant()
    planted_by = browser()
    await sign_in(planted_by, attacker.key)
    planted = planted_by.cookies[SESSION_COOKIE]
    client = browser()
    form = await client.get(f"{PREFIX}/sign-in")  # the victim opens the form, then the
    _copy_session_cookie(planted_by, client)  # attacker plants a session id of theirs
    answer = await client.post(
        f"{PREFIX}/sign-in", data={"api_key": victim.key, CSRF_FIELD: hidden_token(form.text)}
    )
    assert answer.status_code == 303
    fresh = client.cookies[SESSION_COOKIE]
    assert fresh and fresh != planted
    mine = await client.get(f"{PREFIX}/campaigns")
    assert mine.status_code == 200  # signed in as the victim, with a session of their own
    # the planted session is over: its holder sees the sign-in form, not the victim's pages
    answer = await planted_by.get(f"{PREFIX}/campaigns")
    assert answer.status_code == 303 and "/sign-in" in answer.headers["location"]


async def test_sign_out_ends_the_session_on_the_server(browser: Browser, tenant: Tenant) -> None:
    client = browser()
    token = await sign_in(client, tenant.key)
    replay = browser()  # someone who kept a copy of the cookie
    _copy_session_cookie(client, replay)
    out = await client.post(f"{PREFIX}/sign-out", data={CSRF_FIELD: token})
    assert out.status_code == 303
    assert SESSION_COOKIE not in client.cookies  # the browser was told to forget it
    answer = await replay.get(f"{PREFIX}/campaigns")
    assert answer.status_code == 303 and "/sign-in" in answer.headers["location"]
    refused = await replay.post(
        f"{PREFIX}/suppressions", data={CSRF_FIELD: token, "email": "a@b.co"}
    )
    assert refused.status_code == 403


async def test_revoking_the_key_ends_its_sessions(browser: Browser, tenant: Tenant) -> None:
    client = browser()
    await sign_in(client, tenant.key)
    [key] = (await tenant.client.get("/api-keys")).json()
    assert (await tenant.client.delete(f"/api-keys/{key['id']}")).status_code == 204
    answer = await client.get(f"{PREFIX}/campaigns")
    assert answer.status_code == 303 and "/sign-in" in answer.headers["location"]


async def test_a_refused_key_gets_the_form_again(browser: Browser) -> None:
    client = browser()
    answer = await _sign_in_answer(client, "fo_nothere_" + "x" * 40)
    assert answer.status_code == 401
    assert "not accepted" in answer.text
    assert SESSION_COOKIE not in client.cookies


async def test_pages_never_hold_the_key(browser: Browser, tenant: Tenant) -> None:
    client = browser()
    await sign_in(client, tenant.key)
    await make_campaign(tenant.client)
    for path in ("/campaigns", "/campaigns/new", "/templates", "/leads", "/suppressions"):
        answer = await client.get(f"{PREFIX}{path}")
        assert answer.status_code == 200, (path, answer.text)
        assert tenant.key not in answer.text
        assert "content-security-policy" in answer.headers


async def test_another_accounts_objects_are_404(
    browser: Browser, make_tenant: TenantFactory
) -> None:
    owner, other = await make_tenant(), await make_tenant()
    campaign = await make_campaign(owner.client)
    lead = await make_lead(owner.client, email=f"{uuid.uuid4().hex[:8]}@example.com")
    client = browser()
    token = await sign_in(client, other.key)
    c, t = campaign["id"], campaign["template_id"]
    for path in (
        f"/campaigns/{c}",
        f"/campaigns/{c}/edit",
        f"/campaigns/{c}/report",
        f"/campaigns/{c}/recipients.csv",
        f"/campaigns/{c}/progress",
        f"/campaigns/{c}/confirm/launch",
        f"/templates/{t}",
        f"/leads/{lead['id']}",
    ):
        answer = await client.get(f"{PREFIX}{path}")
        assert answer.status_code == 404, (path, answer.status_code)
    for path in (f"/campaigns/{c}/launch", f"/campaigns/{c}/edit", f"/templates/{t}"):
        answer = await client.post(f"{PREFIX}{path}", data={CSRF_FIELD: token, "name": "x"})
        assert answer.status_code == 404, (path, answer.status_code)
    listed = await client.get(f"{PREFIX}/campaigns")
    assert c not in listed.text
    still = (await owner.client.get(f"/campaigns/{c}")).json()
    assert (still["state"], still["name"]) == ("draft", campaign["name"])


async def test_lead_data_is_shown_as_text(browser: Browser, tenant: Tenant) -> None:
    email = f"x{uuid.uuid4().hex[:8]}@example.com"
    await make_lead(tenant.client, email=email, **HOSTILE_LEAD)
    template = await make_template(
        tenant.client,
        subject="Hi {{ first_name }} {{ last_name }}",
        html_body="<p>{{ first_name }} {{ attributes.note }}</p>",
        text_body="{{ first_name }} {{ last_name }} {{ attributes.note }}",
    )
    client = browser()
    await sign_in(client, tenant.key)
    listed = await client.get(f"{PREFIX}/leads")
    assert_shown_as_text(listed.text, SCRIPT, IMG)
    preview = await client.get(f"{PREFIX}/templates/{template['id']}", params={"lead": email})
    assert preview.status_code == 200, preview.text
    assert_shown_as_text(preview.text, SCRIPT, IMG)
    # the rendered HTML is shown in a sandboxed frame, as an attribute: escaped once more
    assert re.search(r'<iframe[^>]*sandbox=""', preview.text)
