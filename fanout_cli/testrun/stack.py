"""The suite's stack: PostgreSQL, Kafka and services that only the test suite uses.

It shares nothing with a stack it did not start: its own home (one per checkout),
ports picked free when it is made, its own database and topic prefix. All of it is
recorded in `<home>/test-stack.json`, where the tests that start services find it.
Every process of it carries `FANOUT_TEST_STACK=<id>` in its environment, so the
processes left behind by an interrupted run can be found and stopped by that mark.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fanout_cli.stack.components import SERVICES, STACK_SMTP_PORT_VARIABLE, dns_variables
from fanout_cli.stack.instances import PORT_STEP
from fanout_cli.stack.kafka import REPO_ROOT
from fanout_cli.testrun.ports import free_port
from shared.settings import DEFAULT_HOME, CommonSettings

MARKER = "FANOUT_TEST_STACK"
STACK_FILE = "test-stack.json"
DATABASE = "fanout_test"
TOPIC_PREFIX = "test."
# a second instance of a service listens PORT_STEP above the first (the scaling tests
# run two): each service's port is picked with the ports up to that one free too
INSTANCE_SPAN = PORT_STEP + 1
# of the caller's FANOUT_* variables only these reach the suite: they say where downloads
# are cached, not which stack to use
KEPT = ("FANOUT_CACHE_DIR", "FANOUT_MAVEN_SETTINGS")


def default_home() -> Path:
    """`FANOUT_TEST_HOME`, else a folder of this checkout beside the default stack home.

    For root that is under /var/lib, which the `postgres` user can traverse.
    """
    chosen = os.environ.get("FANOUT_TEST_HOME")
    if chosen:
        return Path(chosen)
    checkout = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:8]
    return DEFAULT_HOME.parent / "fanout-test" / f"{REPO_ROOT.name}-{checkout}"


@dataclass(frozen=True)
class SuiteStack:
    """One test stack: where it lives and the ports it was given."""

    id: str
    home: Path
    postgres_port: int
    kafka_port: int  # its controller listens on the next port
    service_ports: dict[str, int] = field(default_factory=dict)
    dns_port: int = 0  # the simulator's DNS server (UDP); 0 in a stack recorded before it
    smtp_port: int = 0  # the simulator's SMTP server; 0 in a stack recorded before it

    @classmethod
    def allocate(cls, home: Path) -> SuiteStack:
        """A new stack in `home` on free ports (recorded by `save`)."""
        taken: set[int] = set()
        return cls(
            id=uuid.uuid4().hex[:12],
            home=home,
            postgres_port=free_port(taken),
            kafka_port=free_port(taken, span=2),
            service_ports={s.module: free_port(taken, span=INSTANCE_SPAN) for s in SERVICES},
            dns_port=free_port(taken),
            smtp_port=free_port(taken),
        )

    @classmethod
    def load(cls, home: Path) -> SuiteStack | None:
        """The stack recorded in `home`, if any."""
        try:
            data = json.loads((home / STACK_FILE).read_text())
        except (OSError, ValueError):
            return None
        return cls(**{**data, "home": Path(data["home"])})

    @classmethod
    def current(cls) -> SuiteStack | None:
        """The stack this process runs on (set up by `fanout test`), or None."""
        marker, home = os.environ.get(MARKER), os.environ.get("FANOUT_HOME")
        stack = cls.load(Path(home)) if marker and home else None
        return stack if stack is not None and stack.id == marker else None

    def save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        data = {**asdict(self), "home": str(self.home)}
        (self.home / STACK_FILE).write_text(json.dumps(data, indent=2))

    @property
    def database_url(self) -> str:
        return self.database_url_of(DATABASE)

    def database_url_of(self, database: str) -> str:
        """The DSN of one database of its PostgreSQL (created by `fanout stack up`)."""
        return f"postgresql://fanout:fanout@127.0.0.1:{self.postgres_port}/{database}"

    def url(self, module: str) -> str:
        """The base URL of one of its services."""
        return f"http://127.0.0.1:{self.service_ports[module]}"

    def variables(self) -> dict[str, str]:
        """The FANOUT_* variables that point a process at this stack."""
        ports = {f"FANOUT_{m.upper()}_PORT": str(p) for m, p in self.service_ports.items()}
        webhooks = self.url("webhook_ingest")
        return {
            MARKER: self.id,
            "FANOUT_HOME": str(self.home),
            "FANOUT_DATABASE_URL": self.database_url,
            "FANOUT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.kafka_port}",
            "FANOUT_TOPIC_PREFIX": TOPIC_PREFIX,
            "FANOUT_PUBLIC_BASE_URL": webhooks,
            "FANOUT_ESP_SIMULATOR_WEBHOOK_URL": f"{webhooks}/webhooks/simulator",
            "FANOUT_SENDER_SIMULATOR_URL": self.url("esp_simulator"),
            "FANOUT_DASHBOARD_REPORTS_URL": self.url("report_sink"),
            **ports,
            **dns_variables({"FANOUT_ESP_SIMULATOR_DNS_PORT": str(self.dns_port or "")}),
            **({STACK_SMTP_PORT_VARIABLE: str(self.smtp_port)} if self.smtp_port else {}),
        }

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` without its FANOUT_* variables (but `KEPT`), plus this stack's."""
        inherited = {k: v for k, v in base.items() if not k.startswith("FANOUT_") or k in KEPT}
        return {**inherited, **self.variables()}

    def settings(self) -> CommonSettings:
        """The connection settings of this stack (the caller's environment aside)."""
        variables = self.variables()
        return CommonSettings(
            environment="test",
            home=self.home,
            database_url=self.database_url,
            kafka_bootstrap_servers=variables["FANOUT_KAFKA_BOOTSTRAP_SERVERS"],
            topic_prefix=TOPIC_PREFIX,
            public_base_url=variables["FANOUT_PUBLIC_BASE_URL"],
        )
