"""Campaign drafts: validated on save; listed newest first with filters (keyset)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from services.campaign_api.api.models.campaigns import ProviderWait
from tests.campaign_api.conftest import TenantFactory
from tests.campaign_api.helpers import CONDITION, campaign_body, make_campaign, make_template

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"from_email": "nobody"}, ["body", "from_email"]),
        ({"reply_to": "a@b"}, ["body", "reply_to"]),
        ({"condition": {"field": "country", "op": "near", "value": "DE"}}, ["body", "condition"]),
        ({"scheduled_at": "2020-01-01T00:00:00Z"}, ["body", "scheduled_at"]),
        ({"scheduled_at": "2099-01-01T00:00:00"}, ["body", "scheduled_at"]),  # no time zone
        ({"template_id": "00000000-0000-4000-8000-000000000000"}, ["body", "template_id"]),
    ],
)
async def test_create_campaign_invalid_is_422(
    make_tenant: TenantFactory, change: dict[str, Any], loc: list[str]
) -> None:
    tenant = await make_tenant()
    template = await make_template(tenant.client)
    body = campaign_body(template["id"], tenant.sender, **change)
    response = await tenant.client.post("/campaigns", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == loc
    assert (await tenant.client.get("/campaigns")).json()["items"] == []


async def test_create_campaign_with_other_accounts_template_is_422(
    make_tenant: TenantFactory,
) -> None:
    owner, other = await make_tenant(), await make_tenant()
    template = await make_template(owner.client)
    response = await other.client.post(
        "/campaigns", json=campaign_body(template["id"], other.sender)
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "template_id"]
    assert problem["detail"] == "body.template_id: no such template in this account"


async def test_campaign_cannot_reference_other_accounts_template_even_in_sql(
    make_tenant: TenantFactory, pool: asyncpg.Pool
) -> None:
    """The schema itself keeps a campaign's template in its account (a composite foreign
    key), so a bug or a hand-written statement that skips the API's check cannot either."""
    owner, other = await make_tenant(), await make_tenant()
    theirs = UUID((await make_template(owner.client))["id"])
    campaign = UUID((await make_campaign(other.client))["id"])
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pool.execute(
            "INSERT INTO campaigns (account_id, name, from_email, template_id, condition) "
            "VALUES ($1, 'c', 'news@example.com', $2, '{}')",
            other.account_id,
            theirs,
        )
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pool.execute("UPDATE campaigns SET template_id = $2 WHERE id = $1", campaign, theirs)
    # nor can the campaign move to the template's account while keeping the template
    mine = UUID((await make_template(other.client))["id"])
    await pool.execute("UPDATE campaigns SET template_id = $2 WHERE id = $1", campaign, mine)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pool.execute(
            "UPDATE campaigns SET account_id = $2 WHERE id = $1", campaign, owner.account_id
        )


async def test_get_campaign_shows_counters(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    campaign = await make_campaign(tenant.client, from_email=f"News@{tenant.domain.upper()}")
    got = (await tenant.client.get(f"/campaigns/{campaign['id']}")).json()
    assert got["state"] == "draft"
    assert got["from_email"] == tenant.sender
    assert got["condition"] == CONDITION
    counters = ("enqueued", "sent", "failed", "suppressed", "cancelled")
    assert [got[c] for c in counters] == [0] * 5
    assert got["matched"] is None


async def test_list_campaigns_filters_and_pages(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    template = await make_template(tenant.client)
    made = [await make_campaign(tenant.client, template_id=template["id"]) for _ in range(5)]
    for campaign in made[:2]:
        await tenant.client.post(f"/campaigns/{campaign['id']}/cancel")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await tenant.client.get("/campaigns", params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in reversed(made)]
    cancelled = (await tenant.client.get("/campaigns", params={"state": "cancelled"})).json()
    assert sorted(c["id"] for c in cancelled["items"]) == sorted(c["id"] for c in made[:2])
    both = await tenant.client.get(
        "/campaigns", params=[("state", "draft"), ("state", "cancelled")]
    )
    assert len(both.json()["items"]) == 5
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    later = await tenant.client.get("/campaigns", params={"created_after": future})
    assert later.json()["items"] == []
    bad = await tenant.client.get("/campaigns", params={"cursor": "garbage"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "cursor"]


async def test_update_campaign_draft_revalidates(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    campaign = await make_campaign(tenant.client)
    bad = await tenant.client.patch(f"/campaigns/{campaign['id']}", json={"condition": {"any": []}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "$.any"
    good = await tenant.client.patch(
        f"/campaigns/{campaign['id']}",
        json={"name": "renamed", "reply_to": f"R@{tenant.domain.upper()}"},
    )
    assert (good.json()["name"], good.json()["reply_to"]) == ("renamed", f"r@{tenant.domain}")


async def test_get_campaign_shows_provider_wait_while_the_lease_holds(
    make_tenant: TenantFactory, pool: asyncpg.Pool
) -> None:
    tenant = await make_tenant()
    campaign = await make_campaign(tenant.client)
    url = f"/campaigns/{campaign['id']}"
    assert (await tenant.client.get(url)).json()["provider_wait"] is None
    since = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)  # long ago: no clock reading matters
    lease = "UPDATE campaigns SET provider_wait_reason = $2, provider_wait_since = $3, "
    lease += "provider_wait_until = $4 WHERE id = $1"
    await pool.execute(
        lease, UUID(campaign["id"]), "HTTP 429", since, datetime(2999, 1, 1, tzinfo=UTC)
    )
    wait = (await tenant.client.get(url)).json()["provider_wait"]
    assert wait == {"reason": "HTTP 429", "since": "2020-05-01T12:00:00Z"}
    await pool.execute(lease, UUID(campaign["id"]), "HTTP 429", since, since)  # lapsed
    assert (await tenant.client.get(url)).json()["provider_wait"] is None


def test_provider_wait_of_row_at_pinned_times() -> None:
    since = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    row = {
        "provider_wait_reason": "throttled",
        "provider_wait_since": since,
        "provider_wait_until": since + timedelta(seconds=3),
    }
    assert ProviderWait.of(row, since + timedelta(seconds=2)) == ProviderWait(
        reason="throttled", since=since
    )
    assert ProviderWait.of(row, since + timedelta(seconds=3)) is None
    assert ProviderWait.of({"provider_wait_until": None}, since) is None


async def test_delete_campaign_draft_then_gone(make_tenant: TenantFactory) -> None:
    owner, other = await make_tenant(), await make_tenant()
    draft = await make_campaign(owner.client)
    assert (await other.client.delete(f"/campaigns/{draft['id']}")).status_code == 404
    assert (await owner.client.delete(f"/campaigns/{draft['id']}")).status_code == 204
    assert (await owner.client.get(f"/campaigns/{draft['id']}")).status_code == 404
    assert (await owner.client.delete(f"/campaigns/{draft['id']}")).status_code == 404


async def test_delete_launched_campaign_is_409_with_state(make_tenant: TenantFactory) -> None:
    tenant = await make_tenant()
    campaign = await make_campaign(tenant.client)
    launched = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert launched.status_code == 202, launched.text
    response = await tenant.client.delete(f"/campaigns/{campaign['id']}")
    assert response.status_code == 409
    assert response.json()["extra"] == {"current_state": "queued", "action": "delete"}
    assert "only drafts can be deleted" in response.json()["detail"]
    assert (await tenant.client.get(f"/campaigns/{campaign['id']}")).status_code == 200
