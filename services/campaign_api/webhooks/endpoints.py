"""Webhook endpoints: create (a fresh secret, shown once), read, change, delete, rotate.

Every statement is scoped to the account. The secret is sealed before it is stored
(`shared.outbound.secrets`) and returned only by `create_endpoint` and `rotate_secret`;
nothing here logs it. A rotation keeps the old secret signing beside the new one until
the overlap ends, so receivers can switch without losing a webhook.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from services.campaign_api.owned import fetch_owned, list_owned
from shared.outbound.queue import announce_deliveries
from shared.outbound.secrets import SecretBox, new_signing_secret

log = structlog.get_logger(__name__)

COLUMNS = (
    "id, url, description, event_types, status, disabled_reason, disabled_at, failing_since, "
    "consecutive_failures, previous_secret_expires_at, created_at, updated_at"
)
DISABLED_BY_API = "disabled through the API"
# Re-enabling starts a clean slate: the failure streak that disabled it is over.
ENABLE = (
    "status = 'enabled', disabled_reason = NULL, disabled_at = NULL, failing_since = NULL, "
    "consecutive_failures = 0"
)
DISABLE = f"status = 'disabled', disabled_reason = '{DISABLED_BY_API}', disabled_at = now()"


async def create_endpoint(
    pool: asyncpg.Pool,
    box: SecretBox,
    account: UUID,
    *,
    url: str,
    event_types: list[str],
    description: str,
) -> tuple[asyncpg.Record, str]:
    """A new enabled endpoint and its secret (the only time the secret is returned)."""
    secret = new_signing_secret()
    row = await pool.fetchrow(
        f"""
        INSERT INTO webhook_endpoints (account_id, url, description, event_types, secret)
        VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}
        """,
        account,
        url,
        description,
        event_types,
        box.seal(secret),
    )
    assert row is not None
    log.info("webhooks.endpoint_created", account_id=str(account), endpoint_id=str(row["id"]))
    return row, secret


async def list_endpoints(
    pool: asyncpg.Pool, account: UUID, after: UUID | None, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` endpoints after id `after`, in id order."""
    return await list_owned(pool, "webhook_endpoints", COLUMNS, account, after=after, limit=limit)


async def get_endpoint(pool: asyncpg.Pool, account: UUID, endpoint: UUID) -> asyncpg.Record | None:
    """One endpoint of the account."""
    return await fetch_owned(pool, "webhook_endpoints", COLUMNS, account, endpoint)


async def update_endpoint(
    pool: asyncpg.Pool, account: UUID, endpoint: UUID, changes: dict[str, Any]
) -> asyncpg.Record | None:
    """Apply `changes` (url, description, event_types, enabled); the row, or None."""
    sets, values = ["updated_at = now()"], [endpoint, account]
    for column in ("url", "description", "event_types"):
        if column in changes:
            values.append(changes[column])
            sets.append(f"{column} = ${len(values)}")
    if "enabled" in changes:
        sets.append(ENABLE if changes["enabled"] else DISABLE)
    row: asyncpg.Record | None = await pool.fetchrow(
        f"""
        UPDATE webhook_endpoints SET {", ".join(sets)}
        WHERE id = $1 AND account_id = $2 RETURNING {COLUMNS}
        """,
        *values,
    )
    if row is not None and changes.get("enabled"):
        await announce_deliveries(pool)  # its queue is due again
    if row is not None and "enabled" in changes:
        state = "enabled" if changes["enabled"] else "disabled"
        log.info(f"webhooks.endpoint_{state}", account_id=str(account), endpoint_id=str(endpoint))
    return row


async def delete_endpoint(pool: asyncpg.Pool, account: UUID, endpoint: UUID) -> bool:
    """Delete the endpoint with its deliveries and their log; False if there was none."""
    done = await pool.execute(
        "DELETE FROM webhook_endpoints WHERE id = $1 AND account_id = $2", endpoint, account
    )
    return bool(done != "DELETE 0")


async def rotate_secret(
    pool: asyncpg.Pool,
    box: SecretBox,
    account: UUID,
    endpoint: UUID,
    *,
    overlap: timedelta,
    now: datetime,
) -> tuple[str, datetime | None] | None:
    """A new secret; the current one keeps signing until `now + overlap` (none if zero).

    Returns the new secret and when the old one stops signing, or None for no endpoint.
    A secret already in its overlap is dropped: two rotations leave two secrets.
    """
    until = now + overlap if overlap > timedelta(0) else None
    secret = new_signing_secret()
    row = await pool.fetchrow(
        """
        UPDATE webhook_endpoints
        SET previous_secret = CASE WHEN $4::timestamptz IS NULL THEN NULL ELSE secret END,
            previous_secret_expires_at = $4, secret = $3, updated_at = now()
        WHERE id = $1 AND account_id = $2 RETURNING id
        """,
        endpoint,
        account,
        box.seal(secret),
        until,
    )
    if row is None:
        return None
    log.info(
        "webhooks.secret_rotated",
        account_id=str(account),
        endpoint_id=str(endpoint),
        previous_signs_until=until.isoformat() if until else None,
    )
    return secret, until
