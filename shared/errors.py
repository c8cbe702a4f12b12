"""Errors that services and the CLI turn into clear messages instead of tracebacks."""


class DependencyUnavailable(RuntimeError):
    """Kafka, Postgres or ClickHouse cannot be reached or is misconfigured.

    The message names the dependency, the address tried and what to do.
    """
