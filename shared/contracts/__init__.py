"""Message contracts: one module per topic, a versioned pydantic model each.

Every producer and consumer encodes and decodes through these models; example
messages live beside them in `examples/<topic>/*.json`, and each schema version is
exported as JSON Schema in `schemas/<topic>.v<N>.json` for other languages
(`registry.py` lists them all; docs/contracts.md shows the catalog).
"""

from shared.contracts.base import ContractError, decode, encode
from shared.contracts.events import EmailEvent, EventBatch, EventType, ExclusionReason
from shared.contracts.launches import CampaignCommand, CommandKind
from shared.contracts.sends import Recipient, SendBatch

__all__ = [
    "CampaignCommand",
    "CommandKind",
    "ContractError",
    "EmailEvent",
    "EventBatch",
    "EventType",
    "ExclusionReason",
    "Recipient",
    "SendBatch",
    "decode",
    "encode",
]
