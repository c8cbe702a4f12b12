"""The processes of the local stack beyond Postgres and Kafka, in start order."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fanout_cli.stack.esp_dialects import SMTP_PORT, dialect_env
from fanout_cli.stack.processes import ManagedProcess
from fanout_cli.stack.secrets import service_secrets, variable
from shared.settings import CommonSettings

SIMULATOR_SMTP_PORT_VARIABLE = "FANOUT_ESP_SIMULATOR_SMTP_PORT"
# A stack's own SMTP port for its simulator (a test or chaos stack beside the demo's). Not
# the simulator's variable: every simulator built in a process that has that one in its
# environment (the suite's in-process simulators) would serve SMTP on the same port.
STACK_SMTP_PORT_VARIABLE = "FANOUT_STACK_SMTP_PORT"
SIMULATOR_DNS_PORT = 8753  # UDP; the default of services/esp_simulator/config.py's `dns_port`


@dataclass(frozen=True)
class ServiceProcess:
    """One `python -m services.<module>` process with its HTTP port."""

    module: str
    default_port: int
    env_prefix: str

    @property
    def port(self) -> int:
        """The service's port: `FANOUT_<SERVICE>_PORT` if set, else its default."""
        return int(os.environ.get(f"{self.env_prefix}PORT", self.default_port))

    @property
    def name(self) -> str:
        return self.module.replace("_", "-")

    def process(self, home: Path) -> ManagedProcess:
        return ManagedProcess(self.name, home, marker=f"services.{self.module}", own_log=True)

    def argv(self) -> list[str]:
        return [sys.executable, "-m", f"services.{self.module}"]

    def env(self, common: CommonSettings) -> dict[str, str]:
        """The environment: the caller's, plus the stack's home, secrets, this service's port
        and its own log file (which it rotates: `shared.logging`); every provider dialect of
        the simulator wired into the simulator, the sender and webhook_ingest (which
        accepts the webhooks of each: `esp_dialects`)."""
        env = dict(os.environ)
        env.update(service_secrets(common.home, os.environ))
        env["FANOUT_HOME"] = str(common.home)
        env["FANOUT_LOG_FILE"] = str(self.process(common.home).log_file)
        env["FANOUT_CACHE_DIR"] = str(common.cache_dir)
        env[f"{self.env_prefix}PORT"] = str(self.port)
        env.setdefault("FANOUT_DATABASE_URL", common.database_url)
        env.setdefault("FANOUT_KAFKA_BOOTSTRAP_SERVERS", common.kafka_bootstrap_servers)
        # services find each other on the stack's ports (which may be overridden)
        webhooks = service_named("webhook_ingest").port
        env.setdefault("FANOUT_PUBLIC_BASE_URL", f"http://127.0.0.1:{webhooks}")
        env.setdefault(
            "FANOUT_ESP_SIMULATOR_WEBHOOK_URL", f"http://127.0.0.1:{webhooks}/webhooks/simulator"
        )
        simulator = f"http://127.0.0.1:{service_named('esp_simulator').port}"
        env.setdefault("FANOUT_SENDER_SIMULATOR_URL", simulator)
        env.setdefault("FANOUT_DASHBOARD_REPORTS_URL", service_url("report_sink"))
        # every provider dialect of the simulator, for `fanout demo --provider X`
        # its SMTP server's port may be the stack's own (a test stack beside the demo's)
        secret = env[variable("simulator_webhook_secret")]
        dialects = dialect_env(secret, simulator, simulator_smtp_port(env))
        for name, value in dialects.items():
            env.setdefault(name, value)
        env.update(dns_variables(env))
        return env


def simulator_smtp_port(env: Mapping[str, str]) -> int:
    """The port of the simulator's SMTP server: the stack's own (a test stack beside the
    demo's) or the default."""
    port = env.get(SIMULATOR_SMTP_PORT_VARIABLE) or env.get(STACK_SMTP_PORT_VARIABLE)
    return int(port or SMTP_PORT)


def dns_variables(env: Mapping[str, str]) -> dict[str, str]:
    """The simulator's DNS port, and campaign_api's domain verification asking it: nobody
    owns a real zone locally, so the simulator answers the records `fanout demo` publishes
    (docs/domains.md). A variable already in `env` wins."""
    port = env.get("FANOUT_ESP_SIMULATOR_DNS_PORT") or str(SIMULATOR_DNS_PORT)
    wanted = {
        "FANOUT_ESP_SIMULATOR_DNS_PORT": port,
        "FANOUT_CAMPAIGN_API_DNS_NAMESERVERS": '["127.0.0.1"]',
        "FANOUT_CAMPAIGN_API_DNS_NAMESERVER_PORT": port,
    }
    return {name: env.get(name) or value for name, value in wanted.items()}


SERVICES: tuple[ServiceProcess, ...] = (
    ServiceProcess("esp_simulator", 8705, "FANOUT_ESP_SIMULATOR_"),
    ServiceProcess("webhook_ingest", 8701, "FANOUT_WEBHOOK_INGEST_"),
    ServiceProcess("report_sink", 8702, "FANOUT_REPORT_SINK_"),
    ServiceProcess("campaign_api", 8700, "FANOUT_CAMPAIGN_API_"),
    ServiceProcess("lead_resolver", 8703, "FANOUT_LEAD_RESOLVER_"),
    ServiceProcess("sender", 8704, "FANOUT_SENDER_"),
    ServiceProcess("notifier", 8706, "FANOUT_NOTIFIER_"),
    ServiceProcess("guard", 8707, "FANOUT_GUARD_"),
)


def service_named(name: str) -> ServiceProcess:
    """A service by module or dashed name."""
    for service in SERVICES:
        if name in (service.module, service.name):
            return service
    raise KeyError(name)


def service_url(name: str) -> str:
    """The base URL of a service on this stack, read from its port setting when called."""
    return f"http://127.0.0.1:{service_named(name).port}"
