"""Templates: validated at save time, rendered per lead in the preview."""

from __future__ import annotations

import pytest

from services.campaign_api.rendering import PREVIEW_TOKEN
from shared.settings import CommonSettings
from shared.unsubscribe import InvalidToken, verify_token
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, make_lead, make_template

HOSTILE = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("part", "source", "line", "message"),
    [
        ("html_body", "<p>ok</p>\n<p>{{ first_name </p>", 2, "unexpected"),
        ("text_body", "line one\nline two\n{{ favourite_colour }}", 3, "unknown variable"),
        ("subject", "{{ first_name | no_such_filter }}", 1, "No filter named"),
    ],
)
async def test_create_template_invalid_is_422_with_part_and_line(
    tenant: Tenant, part: str, source: str, line: int, message: str
) -> None:
    body = {"name": "t", "subject": "s", part: source}
    response = await tenant.client.post("/templates", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"].startswith(f"body.{part} line {line}: ")
    (error,) = problem["errors"]
    assert (error["loc"], error["line"]) == (["body", part], line)
    assert message in error["msg"]


async def test_preview_template_renders_lead(tenant: Tenant) -> None:
    template = await make_template(
        tenant.client,
        subject="Hi {{ first_name }}",
        html_body="<p>{{ attributes.plan }} & {{ last_name }}</p>",
        text_body="Plan {{ attributes.plan }}",
    )
    lead = await make_lead(
        tenant.client,
        email="r@example.com",
        first_name="Ada",
        last_name="<b>",
        attributes={"plan": "pro"},
    )
    response = await tenant.client.post(
        f"/templates/{template['id']}/preview", json={"lead_id": lead["id"]}
    )
    assert response.status_code == 200, response.text
    email = response.json()
    assert email["subject"] == "Hi Ada"
    assert email["html"].startswith("<p>pro & &lt;b&gt;</p>")  # variables escaped
    assert "/unsubscribe/" in email["html"]
    assert email["text"].startswith("Plan pro\n\nUnsubscribe: ")
    bare = await make_lead(tenant.client, email="s@example.com")
    missing = await tenant.client.post(
        f"/templates/{template['id']}/preview", json={"lead_id": bare["id"]}
    )
    assert missing.status_code == 422
    assert "plan" in missing.json()["errors"][0]["msg"]


async def test_update_template_validates_result(tenant: Tenant) -> None:
    template = await make_template(tenant.client)
    bad = await tenant.client.patch(f"/templates/{template['id']}", json={"subject": "{{ nope }}"})
    assert bad.status_code == 422
    good = await tenant.client.patch(f"/templates/{template['id']}", json={"subject": "New"})
    assert good.json()["subject"] == "New"
    assert good.json()["text_body"] == template["text_body"]


async def test_delete_template_in_use_is_409_naming_campaigns(tenant: Tenant) -> None:
    first = await make_campaign(tenant.client, name="November")
    second = await make_campaign(tenant.client, name="December", template_id=first["template_id"])
    response = await tenant.client.delete(f"/templates/{first['template_id']}")
    assert response.status_code == 409
    problem = response.json()
    assert problem["extra"] == {
        "campaigns": [
            {"id": first["id"], "name": "November", "state": "draft"},
            {"id": second["id"], "name": "December", "state": "draft"},
        ],
        "campaign_count": 2,
    }
    assert "'November'" in problem["detail"]
    assert (await tenant.client.get(f"/templates/{first['template_id']}")).status_code == 200
    await tenant.client.delete(f"/campaigns/{first['id']}")
    await tenant.client.delete(f"/campaigns/{second['id']}")
    freed = await tenant.client.delete(f"/templates/{first['template_id']}")
    assert freed.status_code == 204
    unused = await make_template(tenant.client)
    assert (await tenant.client.delete(f"/templates/{unused['id']}")).status_code == 204


async def test_create_template_hostile_loops_is_422_naming_part_line_and_limit(
    tenant: Tenant,
) -> None:
    body = {"name": "t", "subject": "s", "html_body": "<p>hi</p>\n" + HOSTILE}
    response = await tenant.client.post("/templates", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"].startswith("body.html_body line 2: loops run 10,000,000,000")
    (error,) = problem["errors"]
    assert (error["loc"], error["line"]) == (["body", "html_body"], 2)
    assert "10,000,000,000 iterations" in error["msg"]
    assert "100,000 allowed (max_iterations)" in error["msg"]


async def test_preview_template_over_budget_is_422_naming_the_limit(tenant: Tenant) -> None:
    loops = (
        "{% for a in range(attributes.n) %}{% for b in range(attributes.n) %}x"
        "{% endfor %}{% endfor %}"
    )
    template = await make_template(tenant.client, html_body=loops)
    lead = await make_lead(tenant.client, email="n@example.com", attributes={"n": 100_000})
    response = await tenant.client.post(
        f"/templates/{template['id']}/preview", json={"lead_id": lead["id"]}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"].startswith("html_body line 1: ")
    assert problem["extra"]["kind"] == "budget"
    assert problem["extra"]["limit"] in {"max_iterations", "max_output_chars"}
    assert problem["errors"][0]["loc"] == ["template", "html_body"]


async def test_preview_template_renders_empty_first_name_with_default(tenant: Tenant) -> None:
    template = await make_template(
        tenant.client,
        subject='Hi {{ first_name | default("there") }}',
        text_body="Hi {{ first_name }}, {{ attributes.company | default('') }}.",
    )
    lead = await make_lead(tenant.client, email="nameless@example.com")
    response = await tenant.client.post(
        f"/templates/{template['id']}/preview", json={"lead_id": lead["id"]}
    )
    assert response.status_code == 200, response.text
    email = response.json()
    assert email["subject"] == "Hi there"
    assert email["text"].startswith("Hi , .\n")
    assert "None" not in email["text"]


async def test_preview_template_link_unsubscribes_no_one(
    tenant: Tenant, base_settings: CommonSettings
) -> None:
    template = await make_template(tenant.client, html_body="<a href='{{ unsubscribe_url }}'>x</a>")
    lead = await make_lead(tenant.client, email="link@example.com")
    response = await tenant.client.post(
        f"/templates/{template['id']}/preview", json={"lead_id": lead["id"]}
    )
    email = response.json()
    token = email["text"].rsplit("/unsubscribe/", 1)[1].strip()
    assert token == PREVIEW_TOKEN
    assert f"/unsubscribe/{PREVIEW_TOKEN}'" in email["html"]
    with pytest.raises(InvalidToken):
        verify_token(base_settings.secret("link_secret"), token)
