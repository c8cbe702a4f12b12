"""A condition past a limit of the language answers 422 naming the limit and the JSON path.

However deep the nesting goes (17 levels, 1,000 or 10,000), the answer is the one the
condition parser gives at level 17; the body is never refused as unparseable.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.conditions.parse import MAX_DEPTH, MAX_NODES
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import CONDITION, make_campaign, make_template

pytestmark = pytest.mark.postgres

LEAF = '{"field": "country", "op": "eq", "value": "DE"}'
TOO_DEEP = f"expected at most {MAX_DEPTH} levels of nesting"


def deep_condition(levels: int) -> tuple[str, str]:
    """A condition `levels` deep (alternating `not` and `all`) as JSON text, and the JSON path
    of the node one level past the limit. Built as text: `json.dumps` itself recurses."""
    kinds = ["not" if level % 2 else "all" for level in range(1, levels)]
    opening = "".join('{"not": ' if k == "not" else '{"all": [' for k in kinds)
    closing = "".join("}" if k == "not" else "]}" for k in reversed(kinds))
    path = "$" + "".join(".not" if k == "not" else ".all[0]" for k in kinds[:MAX_DEPTH])
    return opening + LEAF + closing, path


async def _send(tenant: Tenant, where: str, condition: str) -> Any:
    if where == "segment preview":
        body = '{"condition": ' + condition + "}"
        return await tenant.client.post("/segments/preview", content=body, headers=JSON)
    template = await make_template(tenant.client)
    if where == "campaign create":
        body = (
            f'{{"name": "c", "from_email": "{tenant.sender}", '
            f'"template_id": "{template["id"]}", "condition": {condition}}}'
        )
        return await tenant.client.post("/campaigns", content=body, headers=JSON)
    campaign = await make_campaign(tenant.client, template_id=template["id"])
    body = '{"condition": ' + condition + "}"
    return await tenant.client.patch(f"/campaigns/{campaign['id']}", content=body, headers=JSON)


JSON = {"content-type": "application/json"}
ROUTES = ("segment preview", "campaign create", "campaign update")


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1_000, 10_000])
@pytest.mark.parametrize("where", ROUTES)
async def test_too_deep_condition_names_the_limit_and_path(
    tenant: Tenant, where: str, levels: int
) -> None:
    condition, path = deep_condition(levels)
    response = await _send(tenant, where, condition)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert (error["loc"], error["path"], error["type"]) == (
        ["body", "condition"],
        path,
        "condition",
    )
    assert error["msg"] == f"{path}: {TOO_DEEP}"
    assert response.json()["detail"] == f"body.condition: {path}: {TOO_DEEP}"


@pytest.mark.parametrize("where", ROUTES)
async def test_condition_at_the_depth_limit_is_accepted(tenant: Tenant, where: str) -> None:
    condition, _ = deep_condition(MAX_DEPTH)
    response = await _send(tenant, where, condition)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("where", ROUTES)
async def test_too_many_conditions_names_the_limit_and_the_first_one_past_it(
    tenant: Tenant, where: str
) -> None:
    condition = '{"any": [' + ", ".join([LEAF] * (MAX_NODES + 100)) + "]}"
    response = await _send(tenant, where, condition)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    # the root is the first condition, so the one past the limit is child MAX_NODES - 1
    assert error["path"] == f"$.any[{MAX_NODES - 1}]"
    assert error["msg"].endswith(f"expected at most {MAX_NODES} conditions in total")


async def test_deep_values_inside_a_comparison_name_their_path(tenant: Tenant) -> None:
    deep_list = "[" * 5_000 + '"vip"' + "]" * 5_000
    condition = '{"field": "tags", "op": "contains_any", "value": ' + deep_list + "}"
    response = await _send(tenant, "segment preview", condition)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert (error["loc"], error["path"]) == (["body", "condition"], "$.value[0]")


async def test_deep_json_in_another_field_is_refused_as_that_field(tenant: Tenant) -> None:
    template = await make_template(tenant.client)
    deep = "[" * 10_000 + "]" * 10_000
    body = (
        f'{{"name": {deep}, "from_email": "{tenant.sender}", '
        f'"template_id": "{template["id"]}", "condition": {CONDITION!r}}}'
    ).replace("'", '"')
    response = await tenant.client.post("/campaigns", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "name"]
