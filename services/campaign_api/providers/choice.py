"""Which provider configuration a campaign sends through, checked on save and on launch.

On save a campaign names a configuration of its account (`provider_config_id`), or
a kind (`provider`: the account's default if it is of that kind, else its oldest
configuration of that kind), or neither (the account's default). A configuration
that does not exist and one of another account get the same 422: whether another
account's id exists is not this caller's business. On launch and resume a
configuration that is disabled (bad credentials found by the sender, or disabled
by the account) refuses with 409 and its reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.http.problems import invalid

BY_ID = "SELECT id, kind FROM provider_configs WHERE id = $1 AND account_id = $2"
BY_KIND = """
SELECT id, kind FROM provider_configs WHERE account_id = $1 AND ($2::text IS NULL OR kind = $2)
ORDER BY ($2::text IS NULL OR is_default) DESC, is_default DESC, created_at, id LIMIT 1
"""
DEFAULT = "SELECT id, kind FROM provider_configs WHERE account_id = $1 AND is_default"
STATE = "SELECT name, state, state_reason FROM provider_configs WHERE id = $1 FOR SHARE"


class ConfigDisabled(ValueError):
    """The campaign's provider configuration is disabled: it cannot start sending."""

    def __init__(self, config_id: UUID, name: str, reason: str | None) -> None:
        super().__init__(
            f"provider configuration {name!r} is disabled ({reason or 'no reason given'}); "
            "fix it first (new credentials re-activate it: PATCH /providers/{id})"
        )
        self.config_id = config_id
        self.reason = reason


async def choose(conn: asyncpg.Connection, account: UUID, values: dict[str, Any]) -> None:
    """Set `provider_config_id` and `provider` (its kind) in `values`; 422 naming the field."""
    config_id, kind = values.get("provider_config_id"), values.get("provider")
    if config_id is not None:
        row = await conn.fetchrow(BY_ID, config_id, account)
        if row is None:
            loc = ["body", "provider_config_id"]
            raise invalid(loc, "no such provider configuration in this account")
        if kind is not None and kind != row["kind"]:
            raise invalid(["body", "provider"], f"the configuration named is of kind {row['kind']}")
    elif kind is not None:
        row = await conn.fetchrow(BY_KIND, account, kind)
        if row is None:
            detail = (
                f"no {kind} provider configuration in this account; create one (POST /providers)"
            )
            raise invalid(["body", "provider"], detail)
    else:
        row = await conn.fetchrow(DEFAULT, account)
        if row is None:
            detail = "this account has no default provider configuration; name one"
            raise invalid(["body", "provider_config_id"], detail)
    values["provider_config_id"], values["provider"] = row["id"], row["kind"]


async def check_provider(conn: asyncpg.Connection, campaign: asyncpg.Record, _: datetime) -> None:
    """A launch or resume check: `ConfigDisabled` if the campaign's configuration is disabled.

    Campaigns saved before configurations existed name none and use the stack's adapter."""
    config_id = campaign["provider_config_id"]
    if config_id is None:
        return
    row = await conn.fetchrow(STATE, config_id)
    if row is not None and row["state"] != "active":
        raise ConfigDisabled(config_id, row["name"], row["state_reason"])
