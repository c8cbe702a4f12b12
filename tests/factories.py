"""Test data made the way production makes it: through the services' own functions.

Accounts and keys come from `shared.auth`; templates, leads, campaign drafts and
suppressions from campaign_api's `records` (what its routes call after validating);
many leads at once from the bulk importer; a launch from the lifecycle's
`apply_action`; an unsubscribe from webhook_ingest's suppression writer. The
request models validate every value, so a factory refuses what the API refuses.

Where a test needs a row no API makes (a backdated timestamp, a counter a worker
keeps), the test writes it itself and says why.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg
import orjson

from services.campaign_api import records
from services.campaign_api.api.models.campaigns import CampaignCreate
from services.campaign_api.api.models.leads import LeadCreate
from services.campaign_api.api.models.templates import TemplateCreate
from services.campaign_api.campaigns.commands import apply_action
from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from services.campaign_api.providers.store import create_config
from services.webhook_ingest.suppressions import Changes, apply
from shared.auth import add_key, create_account
from shared.campaigns import Action
from shared.contracts import CampaignCommand, decode
from shared.provider_configs.kinds import checked_credentials, checked_settings
from shared.provider_configs.records import sealer
from shared.settings import CommonSettings

Db: TypeAlias = "asyncpg.Pool | asyncpg.Connection"
TEMPLATE = {"name": "t", "subject": "Hi {{ first_name }}", "text_body": "Hello {{ email }}"}
CONDITION = {"field": "country", "op": "eq", "value": "DE"}
# The relay publishes outbox rows; a factory's launch hands its command to the test instead,
# and marks the row as the relay would, so no relay of a later test sends it to a topic
# that no longer exists.
TAKE_COMMANDS = """
UPDATE outbox SET published_at = now()
WHERE key = $1 AND published_at IS NULL RETURNING payload
"""


@dataclass(frozen=True)
class Account:
    """An account and the plaintext of its first API key."""

    id: UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class Launched:
    """A campaign launched through the lifecycle, with the command it wrote."""

    id: UUID
    run_id: UUID
    command: CampaignCommand


async def account(pool: asyncpg.Pool, name: str | None = None) -> Account:
    """A new account with its first key."""
    account_id, key = await create_account(pool, name or f"test-{uuid.uuid4().hex[:8]}")
    return Account(account_id, key)


async def api_key(db: Db, account_id: UUID, name: str = "test") -> str:
    """Another key of `account_id` (its plaintext)."""
    _, plaintext = await add_key(db, account_id, name)
    return plaintext


async def template(db: Db, account_id: UUID, **fields: Any) -> UUID:
    """A template (`TEMPLATE`, with `fields` changed)."""
    row = await records.insert_template(db, account_id, TemplateCreate(**{**TEMPLATE, **fields}))
    template_id: UUID = row["id"]
    return template_id


async def lead(db: Db, account_id: UUID, email: str | None = None, **fields: Any) -> UUID:
    """One lead (a unique address unless `email` is given)."""
    address = email or f"lead-{uuid.uuid4().hex[:10]}@example.com"
    row = await records.insert_lead(db, account_id, LeadCreate(email=address, **fields))
    lead_id: UUID = row["id"]
    return lead_id


async def leads(pool: asyncpg.Pool, account_id: UUID, rows: Iterable[dict[str, Any]]) -> list[UUID]:
    """Many leads at once through the bulk import; their ids in the order of `rows`."""
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    report = await import_leads(pool, account_id, chunks(), ImportFormat.JSONL)
    assert report.rejected == 0, report.rejected_rows
    by_email = {
        r["email"]: r["id"]
        for r in await pool.fetch("SELECT id, email FROM leads WHERE account_id = $1", account_id)
    }
    return [by_email[orjson.loads(line)["email"]] for line in body.splitlines()]


async def campaign(
    db: Db, account_id: UUID, template_id: UUID | None = None, **fields: Any
) -> UUID:
    """A draft campaign (its own template unless `template_id` is given)."""
    if template_id is None:
        template_id = await template(db, account_id)
    body = CampaignCreate(
        **{
            "name": "c",
            "from_email": "news@example.com",
            "condition": CONDITION,
            **fields,
            "template_id": template_id,
        }
    )
    row = await records.insert_campaign(db, account_id, body)
    campaign_id: UUID = row["id"]
    return campaign_id


async def launch(pool: asyncpg.Pool, account_id: UUID, campaign_id: UUID, topic: str) -> Launched:
    """Launch a draft as `POST /campaigns/{id}/launch` does; the command is the caller's."""
    row = await apply_action(
        pool, account_id, campaign_id, Action.LAUNCH, topic=topic, now=datetime.now(UTC)
    )
    [payload] = [r["payload"] for r in await pool.fetch(TAKE_COMMANDS, str(campaign_id).encode())]
    return Launched(campaign_id, row["run_id"], decode(CampaignCommand, payload))


async def provider_config(
    db: Db,
    account_id: UUID,
    kind: str = "simulator",
    *,
    settings: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
    name: str | None = None,
) -> UUID:
    """A provider configuration as `POST /providers` makes it (validated, sealed)."""
    row = await create_config(
        db,
        account_id,
        name=name or f"{kind}-{uuid.uuid4().hex[:6]}",
        kind=kind,
        settings=checked_settings(kind, settings or {}),
        credentials=checked_credentials(kind, credentials or {}),
        sealer=sealer(CommonSettings(environment="test")),
    )
    config_id: UUID = row["id"]
    return config_id


async def suppress(db: Db, account_id: UUID, emails: list[str], reason: str = "manual") -> int:
    """Suppress `emails` as `POST /suppressions/bulk` does; how many were new."""
    return await records.suppress(db, account_id, sorted(set(emails)), reason)


async def unsubscribe(pool: asyncpg.Pool, account_id: UUID, lead_ids: Iterable[UUID]) -> None:
    """Mark leads unsubscribed as webhook_ingest does when a recipient follows the link."""
    now = datetime.now(UTC)
    changes = Changes(unsubscribed={(account_id, lead_id): now for lead_id in lead_ids})
    async with pool.acquire() as conn, conn.transaction():
        await apply(conn, changes, threshold=1)
