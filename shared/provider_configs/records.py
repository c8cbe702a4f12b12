"""A provider configuration as the sender reads it, and the sealing both sides agree on.

campaign_api seals credentials with `sealer(common)`; the sender opens them with
the same. `load` reads one configuration by id (the sender reaches it through the
campaign, which holds its account's configuration only); `disable` records a
provider-wide refusal (bad credentials, a suspended account) on the configuration,
so every campaign naming it stops and its owner sees why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from shared.sealing import Sealed, Sealer
from shared.settings import CommonSettings

PURPOSE = b"fanout provider credentials v1"
MAX_REASON = 1000
LOAD = """
SELECT id, account_id, name, kind, settings, credentials, credentials_key_id, state,
       state_reason, updated_at
FROM provider_configs WHERE id = $1
"""
DISABLE = """
UPDATE provider_configs SET state = 'disabled', state_reason = $2, updated_at = now()
WHERE id = $1 AND state = 'active' AND updated_at = $3
"""


def sealer(common: CommonSettings) -> Sealer:
    """The provider credentials' sealer of this deployment (current and previous keys)."""
    previous = [s.get_secret_value() for s in common.provider_key_secrets_previous]
    return Sealer(common.secret("provider_key_secret"), PURPOSE, previous)


@dataclass(frozen=True)
class StoredConfig:
    """One provider configuration, its credentials still sealed."""

    id: UUID
    account_id: UUID
    name: str
    kind: str
    settings: dict[str, Any]
    credentials: Sealed | None
    state: str
    state_reason: str | None
    updated_at: datetime  # the version: any change (rotation, settings, state) moves it

    def open_credentials(self, sealing: Sealer) -> dict[str, Any]:
        """The credentials in plain text (the sender's adapter only; never logged)."""
        if self.credentials is None:
            return {}
        opened: dict[str, Any] = orjson.loads(sealing.open(self.credentials))
        return opened


async def load(db: asyncpg.Pool | asyncpg.Connection, config_id: UUID) -> StoredConfig | None:
    """Configuration `config_id`, or None when it was deleted."""
    row = await db.fetchrow(LOAD, config_id)
    if row is None:
        return None
    sealed = None
    if row["credentials"] is not None:
        sealed = Sealed(row["credentials_key_id"], bytes(row["credentials"]))
    return StoredConfig(
        id=row["id"],
        account_id=row["account_id"],
        name=row["name"],
        kind=row["kind"],
        settings=orjson.loads(row["settings"]),
        credentials=sealed,
        state=row["state"],
        state_reason=row["state_reason"],
        updated_at=row["updated_at"],
    )


async def disable(db: asyncpg.Pool | asyncpg.Connection, config: StoredConfig, reason: str) -> bool:
    """Mark `config` disabled with `reason`, unless it changed since it was read (a rotation
    meanwhile may have fixed what failed); True if it was marked."""
    done: str = await db.execute(DISABLE, config.id, reason[:MAX_REASON], config.updated_at)
    return done.endswith(" 1")
