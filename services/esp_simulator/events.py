"""Outcome events the simulator decides for accepted messages, and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.esp_simulator.protocol import MessageMetadata


@dataclass(frozen=True, slots=True)
class AcceptedMessage:
    """What the events of one accepted message share."""

    message_id: str
    provider_message_id: str
    recipient: str
    metadata: MessageMetadata
    dialect: str = "simulator"  # whose webhook format its events are posted in


@dataclass(frozen=True, slots=True)
class OutcomeEvent:
    """One event waiting to be posted; compact because hundreds of thousands may wait."""

    id: UUID
    type: str
    message: AcceptedMessage
    occurred_at: float
    bounce_type: str | None = None
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        """The event as posted in a webhook batch."""
        meta = self.message.metadata
        return {
            "id": str(self.id),
            "type": self.type,
            "message_id": self.message.message_id,
            "provider_message_id": self.message.provider_message_id,
            "recipient": self.message.recipient,
            "occurred_at": datetime.fromtimestamp(self.occurred_at, UTC).isoformat(),
            "bounce_type": self.bounce_type,
            "reason": self.reason,
            "metadata": {
                "account_id": str(meta.account_id),
                "campaign_id": str(meta.campaign_id),
                "lead_id": str(meta.lead_id),
            },
        }
