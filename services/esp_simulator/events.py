"""What the simulator carries from a call to its webhooks: the emails of a call as the
engine reads them, accepted messages, outcome events and their JSON form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec


class Ids(Protocol):
    """The ids a provider echoes back in every webhook event of a message (`str()` of each
    is its canonical form)."""

    @property
    def account_id(self) -> UUID | str: ...

    @property
    def campaign_id(self) -> UUID | str: ...

    @property
    def lead_id(self) -> UUID | str: ...


# msgspec structs, not dataclasses: built in C (several are made per email), and not
# tracked by the cyclic collector (`gc=False`; none of them refers back to another), so
# the events waiting for their post cost a young collection nothing to walk. Mutable: the
# outbox stamps each event's `due` and `seq` as it queues it.
class MessageIds(msgspec.Struct, gc=False):
    """A message's ids: UUIDs, or their canonical text as the bulk API's fast path keeps
    them (`api/fastpath.py`). Written to JSON as an object of the three."""

    account_id: UUID | str
    campaign_id: UUID | str
    lead_id: UUID | str


class Email(msgspec.Struct, gc=False):
    """One email of a call as the engine reads it: validated upstream (the bulk API's
    parser or a dialect's), with only what deciding its fate and its events needs."""

    message_id: str
    to: str
    ids: MessageIds


class AcceptedMessage(msgspec.Struct, gc=False):
    """What the events of one accepted message share."""

    message_id: str
    provider_message_id: str
    recipient: str
    metadata: Ids
    dialect: str = "simulator"  # whose webhook format its events are posted in


class WireEvent(msgspec.Struct, gc=False):
    """One event as the simulator's own webhook posts it (`protocol.WebhookEvent`), in
    its fields' order; `metadata` is written as an object of the three ids."""

    id: str
    type: str
    message_id: str
    provider_message_id: str
    recipient: str
    occurred_at: str
    bounce_type: str | None
    reason: str
    metadata: MessageIds | dict[str, Any]


class OutcomeEvent(msgspec.Struct, gc=False):
    """One event waiting to be posted; compact because hundreds of thousands may wait.

    `key` is its id, as a UUID or as the UUID's 128-bit integer (what the engine draws:
    building the UUID object is left to the formats that need one). `due` (monotonic
    seconds) and `seq` are the outbox's, set as the event is queued: it keeps the events
    themselves in its queues, not tuples around them."""

    key: UUID | int
    type: str
    message: AcceptedMessage
    occurred_at: float
    bounce_type: str | None = None
    reason: str = ""
    due: float = 0.0
    seq: int = 0

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

    def wire(self, occurred_at: str | None = None) -> WireEvent:
        """The event as posted in a webhook batch (`occurred_at`: its time as
        `datetime.isoformat()` writes it, when the caller has it made)."""
        message = self.message
        meta = message.metadata
        ids = (
            meta
            if isinstance(meta, MessageIds)
            else {
                "account_id": meta.account_id,
                "campaign_id": meta.campaign_id,
                "lead_id": meta.lead_id,
            }
        )
        return WireEvent(
            self.id_text,
            self.type,
            message.message_id,
            message.provider_message_id,
            message.recipient,
            occurred_at or datetime.fromtimestamp(self.occurred_at, UTC).isoformat(),
            self.bounce_type,
            self.reason,
            ids,
        )
