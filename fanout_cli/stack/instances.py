"""Several instances of one service on the local stack: names, ports, and how many may run.

Instance 1 of a service is the service as it always was (`sender`, on its port P);
instance k > 1 is `sender-k`, on port P + 10·(k − 1), with its own pid file and log
file. The step of 10 keeps every instance of the seven services (ports 8700–8706) apart:
sender-2 listens on 8714, webhook-ingest-2 on 8711. Every instance is a member of its
service's consumer group; the group splits the topic's partitions among them.

What cannot run twice is refused with the reason: report_sink in embedded mode (chDB
allows one process per data folder; with FANOUT_CLICKHOUSE_URL it scales like the rest)
and the ESP simulator (a test double whose rate limit and duplicate detection live in its
memory: two would each grant the whole rate). A consumer gets at most one instance per
partition of its topic: more would sit idle.

webhook_ingest instances each listen on their own port rather than sharing one with
SO_REUSEPORT: each instance's /healthz, /readyz and /metrics must be reachable on their
own (a shared port would answer from whichever process the kernel picks), and in
production a load balancer (a Kubernetes Service) spreads the webhooks. Locally the
simulator posts its webhooks to instance 1 (FANOUT_ESP_SIMULATOR_WEBHOOK_URL); point a
provider or a proxy at the others' ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fanout_cli.stack.components import SERVICES, ServiceProcess, service_named
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.processes import ManagedProcess
from shared.settings import CommonSettings
from shared.topics import TOPIC_SPECS, Topic

PORT_STEP = 10
MAX_INSTANCES = 12  # keeps every instance's port within P + 110
CONSUMED: dict[str, Topic] = {
    "lead_resolver": Topic.CAMPAIGN_LAUNCHES,
    "sender": Topic.EMAIL_SENDS,
    "report_sink": Topic.EMAIL_EVENTS,
    "notifier": Topic.EMAIL_EVENTS,
    "guard": Topic.EMAIL_EVENTS,
}
SINGLE = "esp_simulator"


@dataclass(frozen=True)
class Instance:
    """Instance `number` (1-based) of `service`."""

    service: ServiceProcess
    number: int

    @property
    def name(self) -> str:
        base = self.service.name
        return base if self.number == 1 else f"{base}-{self.number}"

    @property
    def port(self) -> int:
        return self.service.port + PORT_STEP * (self.number - 1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def process(self, home: Path) -> ManagedProcess:
        marker = f"services.{self.service.module}"
        return ManagedProcess(self.name, home, marker=marker, own_log=True)

    def env(self, common: CommonSettings) -> dict[str, str]:
        """The service's environment with this instance's port and log file."""
        env = self.service.env(common)
        env[f"{self.service.env_prefix}PORT"] = str(self.port)
        env["FANOUT_LOG_FILE"] = str(self.process(common.home).log_file)
        return env


def max_instances(service: ServiceProcess) -> int:
    """How many instances of `service` can do work at once."""
    topic = CONSUMED.get(service.module)
    if topic is None:
        return MAX_INSTANCES
    return min(MAX_INSTANCES, next(s.partitions for s in TOPIC_SPECS if s.topic is topic))


def check_count(common: CommonSettings, service: ServiceProcess, count: int) -> None:
    """Raise a StackError saying why `service` cannot run `count` instances."""
    if count < 1:
        raise StackError(f"{service.name}: at least 1 instance (`fanout stack down` stops all)")
    if count == 1:
        return
    if service.module == "report_sink" and not common.clickhouse_url:
        raise StackError(
            "report-sink runs once in embedded mode: chDB allows one process per data folder. "
            "Set FANOUT_CLICKHOUSE_URL to a ClickHouse server to run several."
        )
    if service.module == SINGLE:
        raise StackError(
            "esp-simulator runs once: its rate limit and duplicate detection live in its "
            "memory, so two would each grant the whole rate."
        )
    if count > max_instances(service):
        raise StackError(
            f"{service.name}: at most {max_instances(service)} instances (one per partition "
            "of the topic it consumes; more would sit idle)."
        )


def parse_scale(common: CommonSettings, spec: str) -> dict[str, int]:
    """`sender=3,lead_resolver=2` as {module: count}, every count checked."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        try:
            service = service_named(name.strip())
            count = int(value)
        except (KeyError, ValueError):
            known = ", ".join(s.module for s in SERVICES)
            raise StackError(
                f"--scale: {part!r} is not SERVICE=N (N a whole number; services: {known})"
            ) from None
        if not sep:
            raise StackError(f"--scale: {part!r} is not SERVICE=N")
        check_count(common, service, count)
        counts[service.module] = count
    return counts


def known_instances(service: ServiceProcess, home: Path) -> list[Instance]:
    """The instances of `service` with a pid file under `home` (alive or not), by number."""
    numbers = {1}
    for pid_file in (home / "run").glob(f"{service.name}-*.pid"):
        suffix = pid_file.stem.removeprefix(f"{service.name}-")
        if suffix.isdigit():
            numbers.add(int(suffix))
    return [Instance(service, n) for n in sorted(numbers)]
