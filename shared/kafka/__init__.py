"""Kafka plumbing with Fanout's defaults: idempotent producer, the consumer runner and its
strategies, topic administration."""

from shared.errors import DependencyUnavailable


def kafka_unreachable(bootstrap: str, cause: str) -> DependencyUnavailable:
    """The error every Kafka client of Fanout raises when the broker does not answer."""
    return DependencyUnavailable(
        f"Kafka at {bootstrap} is unreachable",
        setting="FANOUT_KAFKA_BOOTSTRAP_SERVERS",
        cause=cause,
        remedy="start it with `fanout stack up`",
    )
