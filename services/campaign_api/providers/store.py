"""Provider configurations in Postgres: create, read, update, delete; always by account.

Credentials arrive validated in plain text and leave this module sealed
(`shared.provider_configs.records.sealer`): the rows hold the sealed bytes, the
key id and a keyed fingerprint, and nothing here returns or logs the plain text.
A configuration that a campaign which has not finished names cannot be deleted
(`ConfigInUse`), so a launched campaign never loses its provider mid-way.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.campaign_api.owned import Db, list_owned, require_owned
from shared.campaigns import State
from shared.campaigns.lifecycle import TERMINAL
from shared.sealing import Sealer

COLUMNS = (
    "id, name, kind, settings, credentials IS NOT NULL AS credentials_set, "
    "credentials_fingerprint, is_default, state, state_reason, created_at, updated_at"
)
UNFINISHED = sorted(s.value for s in State if s not in TERMINAL)
IN_USE_SHOWN = 10


class ConfigNotFound(LookupError):
    """No such provider configuration in this account."""


class ConfigNameTaken(ValueError):
    """The account has a configuration of this name already."""

    def __init__(self, name: str) -> None:
        super().__init__(f"this account has a provider configuration named {name!r} already")


class ConfigInUse(ValueError):
    """Campaigns that have not finished send through this configuration."""

    def __init__(self, campaigns: list[UUID]) -> None:
        super().__init__(
            "campaigns that have not finished send through this provider configuration; "
            "cancel them, let them finish or move drafts to another configuration first"
        )
        self.campaigns = campaigns


def seal_credentials(sealer: Sealer, credentials: dict[str, Any]) -> tuple[bytes, str, str]:
    plain = orjson.dumps(credentials, option=orjson.OPT_SORT_KEYS)
    sealed = sealer.seal(plain)
    return sealed.token, sealed.key_id, sealer.fingerprint(plain)


async def create_config(
    db: Db,
    account: UUID,
    *,
    name: str,
    kind: str,
    settings: dict[str, Any],
    credentials: dict[str, Any],
    sealer: Sealer,
) -> asyncpg.Record:
    """A new configuration of `account`; `ConfigNameTaken` if the name is used."""
    token, key_id, fingerprint = (
        seal_credentials(sealer, credentials) if credentials else (None,) * 3
    )
    row = await db.fetchrow(
        f"""
        INSERT INTO provider_configs (account_id, name, kind, settings, credentials,
            credentials_key_id, credentials_fingerprint)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
        ON CONFLICT (account_id, name) DO NOTHING RETURNING {COLUMNS}
        """,
        account,
        name,
        kind,
        orjson.dumps(settings).decode(),
        token,
        key_id,
        fingerprint,
    )
    if row is None:
        raise ConfigNameTaken(name)
    return row


async def fetch_config(db: Db, account: UUID, config_id: UUID) -> asyncpg.Record:
    """One configuration of `account`, or `ConfigNotFound`."""
    return await require_owned(db, "provider_configs", COLUMNS, account, config_id, ConfigNotFound)


async def list_configs(
    db: Db, account: UUID, *, after: UUID | None, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` configurations of `account` in id order after `after` (keyset)."""
    return await list_owned(db, "provider_configs", COLUMNS, account, after=after, limit=limit)


async def delete_config(pool: asyncpg.Pool, account: UUID, config_id: UUID) -> None:
    """Delete a configuration unless a campaign that has not finished names it (`ConfigInUse`)."""
    async with pool.acquire() as conn, conn.transaction():
        # locked first: a launch reads the row FOR SHARE, so either it sees the row gone
        # or this sees the launched campaign
        await require_owned(
            conn, "provider_configs", "id", account, config_id, ConfigNotFound, for_update=True
        )
        users = await conn.fetch(
            "SELECT id FROM campaigns WHERE provider_config_id = $1 AND state = ANY($2::text[]) "
            "ORDER BY created_at LIMIT $3",
            config_id,
            UNFINISHED,
            IN_USE_SHOWN,
        )
        if users:
            raise ConfigInUse([r["id"] for r in users])
        await conn.execute("DELETE FROM provider_configs WHERE id = $1", config_id)
