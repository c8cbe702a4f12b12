"""`campaign.launches`: campaign lifecycle commands for the lead resolver.

campaign_api writes them through its outbox relay. A command is idempotent per
(campaign, run, kind): delivering it twice changes nothing the second time. Key,
producers and consumers are registered in shared/topics.py (docs/contracts.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from shared.contracts.base import Message


class CommandKind(StrEnum):
    """What the resolver is asked to do with the campaign."""

    LAUNCH = "launch"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class CampaignCommand(Message):
    """One lifecycle command for one campaign run."""

    command_id: UUID
    kind: CommandKind
    campaign_id: UUID
    account_id: UUID
    run_id: UUID
    issued_at: datetime

    def key(self) -> bytes:
        """Kafka key: the campaign id, so a campaign's commands stay in order."""
        return str(self.campaign_id).encode()
