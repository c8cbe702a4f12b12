"""The transactional outbox: a campaign command is a row written with the state change.

`enqueue_command` runs inside the caller's transaction, so the command exists
exactly when the state change committed; the relay (`relay.py`) publishes it
later, however long Kafka is away. NOTIFY (delivered at commit) wakes the relay
at once.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from shared.contracts import CampaignCommand, CommandKind, encode

NOTIFY_CHANNEL = "fanout_outbox"


def make_command(
    kind: CommandKind, campaign_id: UUID, account_id: UUID, run_id: UUID, now: datetime
) -> CampaignCommand:
    """A command with a fresh command id."""
    return CampaignCommand(
        command_id=uuid4(),
        kind=kind,
        campaign_id=campaign_id,
        account_id=account_id,
        run_id=run_id,
        issued_at=now,
    )


async def enqueue_command(conn: asyncpg.Connection, topic: str, command: CampaignCommand) -> None:
    """Write `command` to the outbox in the caller's transaction."""
    await conn.execute(
        "INSERT INTO outbox (topic, key, payload) VALUES ($1, $2, $3)",
        topic,
        command.key(),
        encode(command),
    )
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
