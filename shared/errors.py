"""Errors that services and the CLI turn into clear messages instead of tracebacks."""

from __future__ import annotations

CAUSE_CHARS = 300  # a driver's error can be long; the message must stay one readable line


class StartupRefused(RuntimeError):
    """A service cannot start; `str(exc)` is one line naming `setting`, the one to change."""

    setting: str


class InvalidSetting(StartupRefused):
    """A setting is missing or refused (a bad value, a secret that is missing or a default).

    The message names the environment variable first, e.g. "FANOUT_LINK_SECRET is not
    set; ...".
    """

    def __init__(self, setting: str, problem: str, remedy: str = "") -> None:
        self.setting = setting
        self.problem = " ".join(problem.split())[:CAUSE_CHARS]
        super().__init__(f"{setting} {self.problem}" + (f"; {remedy}" if remedy else ""))


class DependencyUnavailable(StartupRefused):
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

    @classmethod
    def port_taken(
        cls, what: str, host: str, port: int, setting: str, exc: OSError
    ) -> DependencyUnavailable:
        """`what` (e.g. "port") `port` on `host` cannot be bound; `setting` chooses it."""
        return cls(
            f"{what} {port} on {host} is not available",
            setting=setting,
            cause=exc.strerror or repr(exc),
            remedy="stop the process that holds it",
        )

    def _render(self) -> str:
        why = f" ({self.cause})" if self.cause else ""
        todo = f"{self.remedy} or fix {self.setting}" if self.remedy else f"fix {self.setting}"
        return f"{self.problem}{why}; {todo}"
