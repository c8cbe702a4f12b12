"""Suppressions: normalised like leads, bulk add, keyset list, remove."""

from __future__ import annotations

import pytest

from tests.campaign_api.conftest import Tenant

pytestmark = pytest.mark.postgres


async def test_add_suppressions_normalised_and_idempotent(tenant: Tenant) -> None:
    first = await tenant.client.post("/suppressions", json={"email": "Bob@Example.COM"})
    assert first.json() == {"received": 1, "added": 1}
    bulk = await tenant.client.post(
        "/suppressions/bulk",
        json={"emails": ["bob@example.com", "c@example.com", "C@example.com"], "reason": "old"},
    )
    assert bulk.json() == {"received": 3, "added": 1}
    items = (await tenant.client.get("/suppressions")).json()["items"]
    assert [(s["email"], s["reason"]) for s in items] == [
        ("bob@example.com", "manual"),
        ("c@example.com", "old"),
    ]


async def test_add_suppressions_bulk_with_invalid_adds_nothing(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/suppressions/bulk", json={"emails": ["ok@example.com", "broken"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "emails", 1]
    assert (await tenant.client.get("/suppressions")).json()["items"] == []


async def test_list_suppressions_keyset(tenant: Tenant) -> None:
    emails = [f"s{i:02d}@example.com" for i in range(7)]
    await tenant.client.post("/suppressions/bulk", json={"emails": emails})
    page = (await tenant.client.get("/suppressions", params={"limit": 5})).json()
    assert [s["email"] for s in page["items"]] == emails[:5]
    rest = await tenant.client.get("/suppressions", params={"cursor": page["next_cursor"]})
    assert [s["email"] for s in rest.json()["items"]] == emails[5:]
    assert rest.json()["next_cursor"] is None


async def test_remove_suppression(tenant: Tenant) -> None:
    await tenant.client.post("/suppressions", json={"email": "x@example.com"})
    assert (await tenant.client.delete("/suppressions/X@Example.com")).status_code == 204
    assert (await tenant.client.delete("/suppressions/x@example.com")).status_code == 404
