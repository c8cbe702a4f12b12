"""Which model each topic carries, and its example messages."""

from __future__ import annotations

from pathlib import Path

from shared.contracts.base import Message
from shared.contracts.events import EventBatch
from shared.contracts.launches import CampaignCommand
from shared.contracts.sends import SendBatch
from shared.topics import Topic

EXAMPLES_DIR = Path(__file__).parent / "examples"

CONTRACTS: dict[Topic, type[Message]] = {
    Topic.CAMPAIGN_LAUNCHES: CampaignCommand,
    Topic.EMAIL_SENDS: SendBatch,
    Topic.EMAIL_EVENTS: EventBatch,
}


def example_messages(topic: Topic) -> list[tuple[str, bytes]]:
    """Every example message of a topic as (file name, raw bytes)."""
    folder = EXAMPLES_DIR / topic.value
    return [(path.name, path.read_bytes()) for path in sorted(folder.glob("*.json"))]
