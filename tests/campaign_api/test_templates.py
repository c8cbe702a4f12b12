"""Templates: validated at save time, rendered per lead in the preview."""

from __future__ import annotations

import pytest

from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, make_lead, make_template

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


async def test_delete_template_in_use_is_409(tenant: Tenant) -> None:
    campaign = await make_campaign(tenant.client)
    response = await tenant.client.delete(f"/templates/{campaign['template_id']}")
    assert response.status_code == 409
    unused = await make_template(tenant.client)
    assert (await tenant.client.delete(f"/templates/{unused['id']}")).status_code == 204
