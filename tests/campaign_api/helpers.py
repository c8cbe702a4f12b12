"""Small builders shared by the campaign_api tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx

from shared.contracts import CampaignCommand, decode

TEMPLATE = {"name": "t", "subject": "Hi {{ first_name }}", "text_body": "Hello {{ email }}"}
CONDITION = {"field": "country", "op": "eq", "value": "DE"}


async def create(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST `body` to `path`, which must answer 201; the created object."""
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def make_template(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    return await create(client, "/templates", {**TEMPLATE, **overrides})


async def verified_sender(client: httpx.AsyncClient) -> str:
    """An address of a domain the client's account has verified (`GET /domains`)."""
    response = await client.get("/domains", params={"status": "verified", "limit": 1})
    assert response.status_code == 200, response.text
    [domain] = response.json()["items"]  # every test account verifies one (conftest)
    return f"news@{domain['name']}"


def campaign_body(template_id: str, from_email: str, /, **overrides: Any) -> dict[str, Any]:
    """A valid campaign draft of `template_id` sent from `from_email`, with `overrides`."""
    body = {"name": "c", "from_email": from_email, "condition": CONDITION}
    return {**body, "template_id": template_id, **overrides}


async def make_campaign(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """A draft through `POST /campaigns`, sent from the account's verified domain by default."""
    template_id = overrides.pop("template_id", None) or (await make_template(client))["id"]
    from_email = overrides.pop("from_email", None) or await verified_sender(client)
    return await create(client, "/campaigns", campaign_body(template_id, from_email, **overrides))


async def make_lead(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return await create(client, "/leads", fields)


async def outbox_commands(pool: asyncpg.Pool, campaign_id: str) -> list[CampaignCommand]:
    """The commands written to the outbox for one campaign, oldest first."""
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE key = $1 ORDER BY id", campaign_id.encode()
    )
    return [decode(CampaignCommand, r["payload"]) for r in rows]


async def csv_leads(count: int, domain: str) -> AsyncIterator[bytes]:
    """An import body of `count` leads `lead{n}@{domain}`, each's first_name its number n,
    in chunks of 5,000 lines."""
    yield b"email,first_name\n"
    for start in range(0, count, 5_000):
        stop = min(start + 5_000, count)
        yield "".join(f"lead{n}@{domain},{n}\n" for n in range(start, stop)).encode()
