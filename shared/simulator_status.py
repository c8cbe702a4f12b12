"""The per-message statuses of the ESP simulator's bulk API, one definition for both sides.

The simulator (`services/esp_simulator`) answers each message of `POST /v1/messages/bulk`
with one of these; the sender's simulator adapter reads them back into its own outcomes.
Like `webhook_signature`, this is the simulator's contract, so it lives in `shared/`
rather than in either service.
"""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    """What the simulator says about one message of a call."""

    ACCEPTED = "accepted"
    THROTTLED = "throttled"
    TRANSIENT_ERROR = "transient_error"
    REJECTED = "rejected"
