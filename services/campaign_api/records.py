"""The INSERTs that create an account's records: templates, leads, campaign drafts, suppressions.

Routes validate a request first (the body model, then the checks that need the
database, each answering 422 naming the field) and then call these. Tests make
their data through the same functions (`tests/factories.py`), so a test row has
exactly the shape an API call gives it. Each takes a pool or a connection, so a
caller can create inside its own transaction.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
import orjson

from services.campaign_api.api.models.campaigns import CampaignCreate
from services.campaign_api.api.models.leads import LeadCreate
from services.campaign_api.api.models.templates import TemplateCreate
from services.campaign_api.owned import Db

TEMPLATE_COLUMNS = "id, name, subject, html_body, text_body, created_at, updated_at"
LEAD_COLUMNS = (
    "id, email, first_name, last_name, country, tags, attributes, "
    "created_at, updated_at, unsubscribed_at"
)
SUPPRESS = """
INSERT INTO suppressions (account_id, email, reason, source)
SELECT $1, e, $3, 'api' FROM unnest($2::text[]) AS e
ON CONFLICT (account_id, email) DO NOTHING
"""


async def insert_template(db: Db, account: UUID, body: TemplateCreate) -> asyncpg.Record:
    """A new template of `account` (the caller has compiled it)."""
    return await db.fetchrow(
        f"""
        INSERT INTO templates (account_id, name, subject, html_body, text_body)
        VALUES ($1, $2, $3, $4, $5) RETURNING {TEMPLATE_COLUMNS}
        """,
        account,
        body.name,
        body.subject,
        body.html_body,
        body.text_body,
    )


async def insert_lead(db: Db, account: UUID, body: LeadCreate) -> asyncpg.Record:
    """A new lead of `account`; `asyncpg.UniqueViolationError` if its email is taken."""
    return await db.fetchrow(
        f"""
        INSERT INTO leads (account_id, email, first_name, last_name, country, tags, attributes)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING {LEAD_COLUMNS}
        """,
        account,
        body.email,
        body.first_name,
        body.last_name,
        body.country,
        body.tags,
        orjson.dumps(body.attributes).decode(),
    )


async def insert_campaign(db: Db, account: UUID, body: CampaignCreate) -> asyncpg.Record:
    """A new draft campaign of `account` (the caller has checked its template, schedule and
    provider configuration; without a configuration it uses the stack's adapter of its kind)."""
    return await db.fetchrow(
        """
        INSERT INTO campaigns (account_id, name, from_email, from_name, reply_to,
            template_id, condition, scheduled_at, provider, provider_config_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10) RETURNING *
        """,
        account,
        body.name,
        body.from_email,
        body.from_name,
        body.reply_to,
        body.template_id,
        orjson.dumps(body.condition).decode(),
        body.scheduled_at,
        body.provider or "simulator",
        body.provider_config_id,
    )


async def suppress(db: Db, account: UUID, emails: list[str], reason: str) -> int:
    """Suppress normalised `emails` for `account`; how many were not suppressed before."""
    done: str = await db.execute(SUPPRESS, account, emails, reason)
    return int(done.split()[-1])
