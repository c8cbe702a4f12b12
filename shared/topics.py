"""The topic registry: every Kafka topic Fanout uses, in one place.

Names can be prefixed per deployment or per test (`FANOUT_TOPIC_PREFIX`), so
tests run against the real broker with topics of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Topic(StrEnum):
    """Logical topic names (see DESIGN.md: Topics)."""

    CAMPAIGN_LAUNCHES = "campaign.launches"
    EMAIL_SENDS = "email.sends"
    EMAIL_EVENTS = "email.events"


@dataclass(frozen=True)
class TopicSpec:
    """How a topic is created: partitions and retention."""

    topic: Topic
    partitions: int
    retention_ms: int = 7 * 24 * 3600 * 1000


TOPIC_SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(Topic.CAMPAIGN_LAUNCHES, partitions=6),
    TopicSpec(Topic.EMAIL_SENDS, partitions=12),
    TopicSpec(Topic.EMAIL_EVENTS, partitions=12),
)


def topic_name(topic: Topic, prefix: str = "") -> str:
    """The broker-side name of a logical topic."""
    return f"{prefix}{topic.value}"


def dead_letter_name(source_topic: str) -> str:
    """The dead-letter topic of a (broker-side) source topic."""
    return f"{source_topic}.dlq"


def all_topic_names(prefix: str = "") -> list[tuple[str, int]]:
    """Every topic with its partition count, dead-letter topics included."""
    names: list[tuple[str, int]] = []
    for spec in TOPIC_SPECS:
        name = topic_name(spec.topic, prefix)
        names.append((name, spec.partitions))
        names.append((dead_letter_name(name), 1))
    return names
