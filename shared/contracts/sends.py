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
    merge_vars: dict[str, Any] = Field(
        default_factory=dict,
        description="The lead's `email` and the lead fields the campaign's template reads "
        "(first_name, last_name, country, tags, attributes); a field it does not read is "
        "left out, and the sender reads from the lead any field a template edited since "
        "reads and this lacks.",
    )


class SendBatch(Message):
    """One ESP call's worth of recipients of one campaign run."""

    campaign_id: UUID
    account_id: UUID
    run_id: UUID
    batch_no: int = Field(ge=0)
    recipients: list[Recipient] = Field(min_length=1, max_length=MAX_BATCH)
    resolved_xmin: int | None = Field(
        None,
        ge=0,
        description="The xmin of the snapshot the resolver read these leads in: every "
        "transaction it may not have seen has an id (xid8) at or above it, so the sender "
        "screens against suppressions and unsubscribes written since by those only. None: "
        "unknown (the sender looks up every recipient).",
    )
    blocked_leads: list[UUID] = Field(
        default_factory=list,
        max_length=MAX_BATCH,
        description="Recipients already suppressed or unsubscribed when the resolver read "
        "them, after the launch (the resolver leaves out only what was so by the launch): "
        "the sender screens them out.",
    )

    def key(self) -> bytes:
        """Kafka key: campaign id and batch number (spreads a campaign over partitions)."""
        return batch_key(self.campaign_id, self.batch_no)


def batch_key(campaign_id: UUID, batch_no: int) -> bytes:
    """The Kafka key of batch `batch_no` of a campaign on `email.sends`."""
    return f"{campaign_id}:{batch_no}".encode()
