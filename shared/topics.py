"""The topic registry: every Kafka topic Fanout uses, who writes and reads it, in one place.

Names can be prefixed per deployment or per test (`FANOUT_TOPIC_PREFIX`), so tests run
against the real broker with topics of their own. What each topic carries (its message
contract, schema versions and examples) is in `shared/contracts/registry.py`; both are
rendered in docs/contracts.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Topic(StrEnum):
    """Logical topic names (each also has a dead-letter topic, `<name>.dlq`)."""

    CAMPAIGN_LAUNCHES = "campaign.launches"
    EMAIL_SENDS = "email.sends"
    EMAIL_EVENTS = "email.events"


@dataclass(frozen=True)
class Usage:
    """What a topic's key is, and which services produce and consume it."""

    key: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]


@dataclass(frozen=True)
class TopicSpec:
    """How a topic is created (partitions, retention) and who uses it."""

    topic: Topic
    partitions: int
    usage: Usage
    retention_ms: int = 7 * 24 * 3600 * 1000


TOPIC_SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(
        Topic.CAMPAIGN_LAUNCHES,
        partitions=6,
        usage=Usage("campaign id", producers=("campaign_api",), consumers=("lead_resolver",)),
    ),
    TopicSpec(
        Topic.EMAIL_SENDS,
        partitions=12,
        usage=Usage(
            "campaign id + batch number", producers=("lead_resolver",), consumers=("sender",)
        ),
    ),
    TopicSpec(
        Topic.EMAIL_EVENTS,
        partitions=12,
        usage=Usage(
            "campaign id + lead id of the first event",
            producers=("lead_resolver", "sender", "webhook_ingest"),
            consumers=("report_sink", "notifier", "guard"),
        ),
    ),
)

# Every consumer dead-letters the records it refuses on `<source>.dlq`; people read them.
DEAD_LETTER_USAGE = Usage(
    "the source record's key",
    producers=("lead_resolver", "sender", "report_sink"),
    consumers=("operators (inspect, replay)",),
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
