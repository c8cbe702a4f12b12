"""What the simulator carries from a call to its webhooks: the emails of a call as the
engine reads them, accepted messages, outcome events and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID


class Ids(Protocol):
    """The ids a provider echoes back in every webhook event of a message (`str()` of each
    is its canonical form)."""

    @property
    def account_id(self) -> UUID | str: ...

    @property
    def campaign_id(self) -> UUID | str: ...

    @property
    def lead_id(self) -> UUID | str: ...


# Plain slotted classes, not frozen: a frozen dataclass's __init__ sets each field through
# object.__setattr__, and several of these are made per email.
@dataclass(slots=True)
class MessageIds:
    """A message's ids."""

    account_id: UUID
    campaign_id: UUID
    lead_id: UUID


@dataclass(slots=True)
class Email:
    """One email of a call as the engine reads it: validated upstream (the bulk API's
    parser or a dialect's), with only what deciding its fate and its events needs."""

    message_id: str
    to: str
    ids: MessageIds


@dataclass(slots=True)
class AcceptedMessage:
    """What the events of one accepted message share."""

    message_id: str
    provider_message_id: str
    recipient: str
    metadata: Ids
    dialect: str = "simulator"  # whose webhook format its events are posted in


@dataclass(slots=True)
class OutcomeEvent:
    """One event waiting to be posted; compact because hundreds of thousands may wait.

    `key` is its id, as a UUID or as the UUID's 128-bit integer (what the engine draws:
    building the UUID object is left to the formats that need one)."""

    key: UUID | int
    type: str
    message: AcceptedMessage
    occurred_at: float
    bounce_type: str | None = None
    reason: str = ""

    @property
    def id(self) -> UUID:
        """The event's id."""
        key = self.key
        return UUID(int=key) if isinstance(key, int) else key

    @property
    def id_text(self) -> str:
        """`str(self.id)`, made from the integer without a UUID object."""
        key = self.key
        if not isinstance(key, int):
            return str(key)
        h = f"{key:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def as_json(self, occurred_at: datetime | None = None) -> dict[str, Any]:
        """The event as posted in a webhook batch, for `orjson.dumps`: the metadata's ids
        and the time may stay UUID and datetime objects, which orjson writes as `str()` and
        `isoformat()` do (`occurred_at`: this event's time, when the caller has it made)."""
        message = self.message
        meta = message.metadata
        return {
            "id": self.id_text,
            "type": self.type,
            "message_id": message.message_id,
            "provider_message_id": message.provider_message_id,
            "recipient": message.recipient,
            "occurred_at": occurred_at or datetime.fromtimestamp(self.occurred_at, UTC),
            "bounce_type": self.bounce_type,
            "reason": self.reason,
            "metadata": {
                "account_id": meta.account_id,
                "campaign_id": meta.campaign_id,
                "lead_id": meta.lead_id,
            },
        }
