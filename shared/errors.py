"""Errors that services and the CLI turn into clear messages instead of tracebacks."""

from __future__ import annotations

CAUSE_CHARS = 300  # a driver's error can be long; the message must stay one readable line


class DependencyUnavailable(RuntimeError):
    """Kafka, Postgres, ClickHouse or a port cannot be reached or is misconfigured.

    The message is one line: what is wrong (naming the dependency and the address
    tried), why, what to do, and the setting that points at it, e.g.
    "Kafka at 127.0.0.1:19092 is unreachable (...); start it with `fanout stack up`
    or fix FANOUT_KAFKA_BOOTSTRAP_SERVERS".
    """

    def __init__(self, problem: str, *, setting: str, cause: str = "", remedy: str = "") -> None:
        self.problem = problem
        self.setting = setting
        self.cause = " ".join(cause.split())[:CAUSE_CHARS]
        self.remedy = remedy
        super().__init__(self._render())

    def _render(self) -> str:
        why = f" ({self.cause})" if self.cause else ""
        todo = f"{self.remedy} or fix {self.setting}" if self.remedy else f"fix {self.setting}"
        return f"{self.problem}{why}; {todo}"
