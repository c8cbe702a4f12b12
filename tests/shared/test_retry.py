"""Which Postgres and Kafka failures a step retries: Postgres away yes, a wrong query no."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from shared.db import postgres_unavailable
from shared.kafka.producer import ProducerStopped
from shared.retry import retryable

# What a Postgres fast shutdown and restart raised under a busy pool (asyncpg 0.32).
RESTART_ERRORS = [
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    ConnectionResetError(104, "Connection reset by peer"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.CannotConnectNowError("the database system is shutting down"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    asyncpg.InterfaceError(
        "cannot call Transaction.__aexit__(): the underlying connection is closed"
    ),
    TimeoutError(),
]


@pytest.mark.parametrize("exc", RESTART_ERRORS, ids=lambda e: type(e).__name__)
def test_postgres_restart_errors_are_retried(exc: Exception) -> None:
    assert postgres_unavailable(exc)
    assert retryable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        # asyncpg's own check of an argument (not asyncpg.DataError, Postgres' SQLSTATE 22)
        asyncpg.exceptions._base.DataError("invalid input for query argument $1"),
        asyncpg.exceptions.ClientConfigurationError("bad dsn"),
        ValueError("a bug"),
        ProducerStopped("the Kafka producer stopped"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_bad_input_and_bugs_are_not_retried(exc: Exception) -> None:
    assert not postgres_unavailable(exc)
    assert not retryable(exc)


def test_query_and_kafka_errors_stay_retryable_without_meaning_postgres_is_away() -> None:
    for exc in (
        asyncpg.UniqueViolationError("duplicate key"),
        KafkaConnectionError("broker down"),
        OutOfOrderSequenceNumber(),
    ):
        assert retryable(exc) and not postgres_unavailable(exc)
