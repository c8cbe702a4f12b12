"""Changing a provider configuration: rename, new settings, rotated credentials, state, default.

New credentials are sealed under the current key and make the configuration
active again (a configuration the sender disabled for bad credentials is fixed by
rotating them). `reseal_stale` seals again, under the current key, every
configuration sealed under a previous one: campaign_api runs it at start, so a
sealing-key rotation completes by restarting it (docs/providers.md).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import orjson
import structlog

from services.campaign_api.providers.store import (
    COLUMNS,
    ConfigNameTaken,
    ConfigNotFound,
    seal_credentials,
)
from shared.sealing import InvalidToken, Sealed, Sealer, UnknownSealingKey

log = structlog.get_logger(__name__)
DISABLED_BY_OWNER = "disabled by the account"


def _columns(changes: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """The columns to write for `changes` (names from this fixed mapping, never from input)."""
    columns: dict[str, Any] = {}
    if "name" in changes:
        columns["name"] = changes["name"]
    if "settings" in changes:
        columns["settings"] = orjson.dumps(changes["settings"]).decode()
    if "credentials" in changes:
        token, key_id, fingerprint = seal_credentials(sealer, changes["credentials"])
        columns |= {
            "credentials": token,
            "credentials_key_id": key_id,
            "credentials_fingerprint": fingerprint,
            "state": "active",
            "state_reason": None,
        }
    if "state" in changes:
        columns["state"] = changes["state"]
        columns["state_reason"] = DISABLED_BY_OWNER if changes["state"] == "disabled" else None
    if changes.get("is_default"):
        columns["is_default"] = True
    return columns


async def update_config(
    pool: asyncpg.Pool, account: UUID, config_id: UUID, changes: dict[str, Any], sealer: Sealer
) -> asyncpg.Record:
    """Apply validated `changes`; `ConfigNotFound`, `ConfigNameTaken`."""
    columns = _columns(changes, sealer)
    sets = ", ".join(
        f"{name} = ${i + 3}{'::jsonb' if name == 'settings' else ''}"
        for i, name in enumerate(columns)
    )
    async with pool.acquire() as conn, conn.transaction():
        if columns.get("is_default"):
            await conn.execute(
                "UPDATE provider_configs SET is_default = false "
                "WHERE account_id = $1 AND is_default AND id <> $2",
                account,
                config_id,
            )
        try:
            row = await conn.fetchrow(
                f"UPDATE provider_configs SET {sets}{', ' if sets else ''}updated_at = now() "
                f"WHERE id = $1 AND account_id = $2 RETURNING {COLUMNS}",
                config_id,
                account,
                *columns.values(),
            )
        except asyncpg.UniqueViolationError as exc:
            raise ConfigNameTaken(changes.get("name", "")) from exc
        if row is None:
            raise ConfigNotFound(config_id)
    return row


async def reseal_stale(pool: asyncpg.Pool, sealer: Sealer) -> int:
    """Seal again under the current key every credentials sealed under another; how many
    (those under a key no longer configured are logged and left as they are)."""
    rows = await pool.fetch(
        "SELECT id, credentials, credentials_key_id FROM provider_configs "
        "WHERE credentials IS NOT NULL AND credentials_key_id <> $1",
        sealer.current_id,
    )
    resealed = 0
    for row in rows:
        try:
            plain = sealer.open(Sealed(row["credentials_key_id"], bytes(row["credentials"])))
        except (UnknownSealingKey, InvalidToken):  # its key is gone: rotate its credentials
            log.warning(
                "campaign_api.provider_credentials_unreadable", provider_config_id=str(row["id"])
            )
            continue
        fresh = sealer.seal(plain)
        await pool.execute(
            "UPDATE provider_configs SET credentials = $2, credentials_key_id = $3, "
            "credentials_fingerprint = $4 WHERE id = $1 AND credentials_key_id = $5",
            row["id"],
            fresh.token,
            fresh.key_id,
            sealer.fingerprint(plain),
            row["credentials_key_id"],
        )
        resealed += 1
    if resealed:
        log.info("campaign_api.provider_credentials_resealed", count=resealed)
    return resealed
