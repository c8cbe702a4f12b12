"""Every message contract: its model per schema version, its topic, its example messages.

One `Contract` per topic, plus one for the dead-letter topics (`<topic>.dlq`, all of the
same shape). Schema versions are listed explicitly: a breaking change adds a version
with its own model and keeps the old one until no producer writes it. Each version is
also exported as JSON Schema (`schemas/<name>.v<N>.json`, by `shared.contracts.export`)
for consumers outside Python; examples live in `examples/<name>/*.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.contracts.base import Message
from shared.contracts.deadletter import DeadLetter
from shared.contracts.events import EventBatch
from shared.contracts.launches import CampaignCommand
from shared.contracts.sends import SendBatch
from shared.topics import DEAD_LETTER_USAGE, TOPIC_SPECS, Topic, TopicSpec, Usage

EXAMPLES_DIR = Path(__file__).parent / "examples"
SCHEMAS_DIR = Path(__file__).parent / "schemas"
DEAD_LETTERS = "dead-letters"


@dataclass(frozen=True)
class Contract:
    """One contract: a name (the topic's, or `dead-letters`), its versions and its users."""

    name: str
    versions: Mapping[int, type[Message]]
    usage: Usage
    spec: TopicSpec | None = None  # None for the dead-letter topics

    @property
    def current(self) -> type[Message]:
        """The model of the newest version (what producers write)."""
        return self.versions[max(self.versions)]

    def schema_file(self, version: int) -> Path:
        """Where the JSON Schema of `version` is committed."""
        return SCHEMAS_DIR / f"{self.name}.v{version}.json"

    def examples(self) -> list[tuple[str, bytes]]:
        """Every example message as (file name, raw bytes)."""
        folder = EXAMPLES_DIR / self.name
        return [(path.name, path.read_bytes()) for path in sorted(folder.glob("*.json"))]


_MODELS: dict[Topic, Mapping[int, type[Message]]] = {
    Topic.CAMPAIGN_LAUNCHES: {1: CampaignCommand},
    Topic.EMAIL_SENDS: {1: SendBatch},
    Topic.EMAIL_EVENTS: {1: EventBatch},
}

CATALOG: tuple[Contract, ...] = (
    *(Contract(spec.topic.value, _MODELS[spec.topic], spec.usage, spec) for spec in TOPIC_SPECS),
    Contract(DEAD_LETTERS, {1: DeadLetter}, DEAD_LETTER_USAGE),
)

# The model producers write on each topic (its newest version).
CONTRACTS: dict[Topic, type[Message]] = {c.spec.topic: c.current for c in CATALOG if c.spec}


def contract_named(name: str) -> Contract:
    """The contract of a topic name (`email.events`) or of `dead-letters`."""
    for contract in CATALOG:
        if contract.name == name:
            return contract
    raise KeyError(name)


def example_messages(topic: Topic) -> list[tuple[str, bytes]]:
    """Every example message of a topic as (file name, raw bytes)."""
    return contract_named(topic.value).examples()
