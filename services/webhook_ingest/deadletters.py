"""Provider events that cannot be recorded go to the dead-letter topic of `email.events`.

One bad event must not fail the others of its request (the provider would
retry all of them, for ever), nor be dropped silently. Each becomes a
`DeadLetter` (`shared/contracts/deadletter.py`) sent with the shared
`send_dead_letter` (which counts `fanout_dead_lettered_total`): the event as the
provider sent it (JSON, cut at 256 KiB), `"<provider>: <reason>"` as the error,
`webhook_ingest` as the group, the provider as the key, and partition and offset
-1, since it never was a record of the source topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from aiokafka import AIOKafkaProducer

from services.webhook_ingest.providers.base import Rejected
from shared.kafka.deadletter import send_dead_letter

log = structlog.get_logger(__name__)
GROUP = "webhook_ingest"
MAX_VALUE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Unrecorded:
    """A rejected provider event in the shape of the Kafka record it never became."""

    topic: str
    key: bytes
    value: bytes
    partition: int = -1
    offset: int = -1
    headers: tuple[tuple[str, bytes], ...] = ()


def _value(raw: Any) -> tuple[bytes, bool]:
    """The event as JSON, and whether it had to be cut to fit a Kafka message."""
    value = orjson.dumps(raw)
    return value[:MAX_VALUE_BYTES], len(value) > MAX_VALUE_BYTES


async def send_rejected(
    producer: AIOKafkaProducer, topic: str, provider: str, rejected: Sequence[Rejected]
) -> None:
    """Dead-letter each rejected event of a request (source topic `topic`), awaited."""
    for item in rejected:
        value, cut = _value(item.raw)
        error = f"{provider}: {item.reason}" + (" (value cut at 256 KiB)" if cut else "")
        log.warning("webhook.event_dead_lettered", provider=provider, reason=item.reason)
        await send_dead_letter(producer, Unrecorded(topic, provider.encode(), value), error, GROUP)
