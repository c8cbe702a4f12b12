"""A campaign sends only from domains its account has verified: `from_email` and `reply_to`.

Checked when a draft is created or edited (the fields given, 422 at `body.<field>`)
and again when it is launched, scheduled or resumed (both fields, 422 at
`campaign.<field>`): a campaign saved before domains existed, or whose domain was
deleted since, is stopped there. At launch the domain rows are held FOR SHARE until
the transaction ends, so a concurrent delete waits and then sees the launched
campaign (`store.delete_domain`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.campaign_api.domains.names import address_domain

FIELDS = ("from_email", "reply_to")
STATUS = "SELECT verified_at IS NOT NULL FROM sending_domains WHERE account_id = $1 AND name = $2"


class UnverifiedSender(ValueError):
    """The domain of a campaign's address is not verified in its account."""

    def __init__(self, loc: tuple[str, str], domain: str, registered: bool) -> None:
        self.loc = loc
        self.domain = domain
        todo = (
            "publish the DNS records it shows and verify it (POST /domains/{id}/verify)"
            if registered
            else "register it (POST /domains), publish the DNS records it shows and verify it "
            "(POST /domains/{id}/verify)"
        )
        state = "is registered but not verified" if registered else "is not a sending domain"
        super().__init__(f"{domain} {state} of this account; {todo}")


async def require_verified_senders(
    conn: asyncpg.Connection,
    account: UUID,
    values: Mapping[str, Any],
    *,
    where: str = "body",
    lock: bool = False,
) -> None:
    """Raise `UnverifiedSender` for the first address in `values` whose domain is unverified."""
    query = f"{STATUS} FOR SHARE" if lock else STATUS
    for field in FIELDS:
        address = values.get(field)
        if address is None:
            continue
        domain = address_domain(address)
        verified = await conn.fetchval(query, account, domain)
        if not verified:
            raise UnverifiedSender((where, field), domain, registered=verified is not None)


async def check_senders(conn: asyncpg.Connection, campaign: asyncpg.Record, now: datetime) -> None:
    """The launch check (`campaigns.commands.LaunchCheck`) of a campaign's addresses."""
    del now  # verified or not, whatever the time
    await require_verified_senders(
        conn, campaign["account_id"], campaign, where="campaign", lock=True
    )
