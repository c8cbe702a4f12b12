"""Lead CRUD and keyset pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.campaign_api.conftest import Tenant, TenantFactory
from tests.campaign_api.helpers import make_lead

pytestmark = pytest.mark.postgres


async def test_create_lead_normalises_email(tenant: Tenant) -> None:
    lead = await make_lead(
        tenant.client, email=" Ada.L@Example.COM ", country="gb", tags=["vip", "vip", "beta"]
    )
    assert (lead["email"], lead["country"], lead["tags"]) == (
        "ada.l@example.com",
        "GB",
        ["vip", "beta"],
    )
    again = await tenant.client.post("/leads", json={"email": "ADA.L@example.com"})
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-address"),
        ("country", "Germany"),
        ("tags", ["ok", ""]),
        ("attributes", {"bad key": 1}),
        ("first_name", "nul\x00byte"),
    ],
)
async def test_create_lead_invalid_field_is_422(tenant: Tenant, field: str, value: object) -> None:
    body = {"email": "valid@example.com", field: value}
    response = await tenant.client.post("/leads", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]
    assert (await tenant.client.get("/leads")).json()["items"] == []


async def test_list_leads_keyset_pages(tenant: Tenant) -> None:
    csv = "email\n" + "".join(f"p{i}@example.com\n" for i in range(25))
    await tenant.client.post("/leads/import", content=csv, headers={"content-type": "text/csv"})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = (await tenant.client.get("/leads", params=params)).json()
        seen += [lead["id"] for lead in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["items"][-1]["id"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 25
    assert seen == sorted(seen)


async def test_update_lead_changes_only_given_fields(tenant: Tenant) -> None:
    lead = await make_lead(tenant.client, email="u@example.com", first_name="A", country="DE")
    response = await tenant.client.patch(
        f"/leads/{lead['id']}", json={"last_name": "B", "country": None, "attributes": {"n": 1}}
    )
    assert response.status_code == 200
    updated = response.json()
    assert (updated["first_name"], updated["last_name"], updated["country"]) == ("A", "B", None)
    assert updated["attributes"] == {"n": 1}
    other = await make_lead(tenant.client, email="v@example.com")
    clash = await tenant.client.patch(f"/leads/{other['id']}", json={"email": "U@example.com"})
    assert clash.status_code == 409


async def test_delete_lead_then_get_is_404(tenant: Tenant) -> None:
    lead = await make_lead(tenant.client, email="gone@example.com")
    assert (await tenant.client.delete(f"/leads/{lead['id']}")).status_code == 204
    assert (await tenant.client.get(f"/leads/{lead['id']}")).status_code == 404
    assert (await tenant.client.delete(f"/leads/{lead['id']}")).status_code == 404


async def test_create_lead_oversized_body_is_413(tenant: Tenant) -> None:
    body = {"email": "big@example.com", "attributes": {"blob": "x" * (2 * 1024 * 1024)}}
    response = await tenant.client.post("/leads", json=body)
    assert response.status_code == 413

    async def stream() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b"x" * 65536

    chunked = await tenant.client.post(
        "/leads", content=stream(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == chunked.json()["detail"]


async def test_list_leads_by_email_finds_one_as_stored(tenant: Tenant) -> None:
    ada = await make_lead(tenant.client, email="ada@example.com")
    await make_lead(tenant.client, email="bob@example.com")
    found = (await tenant.client.get("/leads", params={"email": " Ada@EXAMPLE.com"})).json()
    assert [lead["id"] for lead in found["items"]] == [ada["id"]]
    assert found["next_cursor"] is None
    missing = await tenant.client.get("/leads", params={"email": "ada@example.org"})
    assert missing.json()["items"] == []
    partial = await tenant.client.get("/leads", params={"email": "ada"})  # exact match only
    assert partial.json()["items"] == []


async def test_list_leads_by_email_is_account_scoped(
    tenant: Tenant, make_tenant: TenantFactory
) -> None:
    await make_lead(tenant.client, email="ada@example.com")
    other = await make_tenant()
    response = await other.client.get("/leads", params={"email": "ada@example.com"})
    assert response.json()["items"] == []


async def test_duplicate_lead_409_names_existing_lead(tenant: Tenant) -> None:
    ada = await make_lead(tenant.client, email="ada@example.com")
    again = await tenant.client.post("/leads", json={"email": "ADA@example.com"})
    assert again.status_code == 409
    assert again.json()["extra"] == {"lead_id": ada["id"]}
    bob = await make_lead(tenant.client, email="bob@example.com")
    renamed = await tenant.client.patch(f"/leads/{bob['id']}", json={"email": "ada@example.com"})
    assert renamed.status_code == 409
    assert renamed.json()["extra"] == {"lead_id": ada["id"]}


async def test_create_lead_sent_as_a_form_is_415_saying_what_to_send(tenant: Tenant) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}  # curl -d without -H
    response = await tenant.client.post("/leads", content=b'{"email": "a@x.com"}', headers=form)
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.json()["detail"]
    untyped = await tenant.client.post("/leads", content=b'{"email": "a@x.com"}')
    assert untyped.status_code == 415
    assert "got no Content-Type" in untyped.json()["detail"]
    typed = {"content-type": "application/json; charset=utf-8"}
    created = await tenant.client.post("/leads", content=b'{"email": "a@x.com"}', headers=typed)
    assert created.status_code == 201
