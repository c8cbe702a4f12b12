"""Which failures of a Postgres or Kafka step a service retries instead of crashing on.

A step that reads or writes Postgres or Kafka is retried by whoever ran it
(backoff, then the same step again) when the failure may clear by itself: a
Kafka error, a Postgres error, or Postgres away (a restart, a dropped
connection: `shared.db.postgres_unavailable`). Anything else is a bug, bad
input or a producer that stopped for good, and propagates.
"""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaError

from shared.db import postgres_unavailable
from shared.kafka.producer import ProducerStopped


def retryable(exc: BaseException) -> bool:
    """True when a retry of the step that raised `exc` may succeed."""
    if isinstance(exc, ProducerStopped):  # the same producer never sends again
        return False
    return isinstance(exc, asyncpg.PostgresError | KafkaError) or postgres_unavailable(exc)
