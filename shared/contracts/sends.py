"""`email.sends`: batches of at most 50 recipients, one ESP call each.

Key, producers and consumers are registered in shared/topics.py (docs/contracts.md).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.base import Message

MAX_BATCH = 50


class Recipient(BaseModel):
    """One lead to send to, with the merge variables its template needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lead_id: UUID
    email: str = Field(min_length=3, max_length=320)
    merge_vars: dict[str, Any] = Field(default_factory=dict)


class SendBatch(Message):
    """One ESP call's worth of recipients of one campaign run."""

    campaign_id: UUID
    account_id: UUID
    run_id: UUID
    batch_no: int = Field(ge=0)
    recipients: list[Recipient] = Field(min_length=1, max_length=MAX_BATCH)

    def key(self) -> bytes:
        """Kafka key: campaign id and batch number (spreads a campaign over partitions)."""
        return batch_key(self.campaign_id, self.batch_no)


def batch_key(campaign_id: UUID, batch_no: int) -> bytes:
    """The Kafka key of batch `batch_no` of a campaign on `email.sends`."""
    return f"{campaign_id}:{batch_no}".encode()
