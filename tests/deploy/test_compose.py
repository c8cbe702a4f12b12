"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the code.

Every Fanout service of the local stack is in it with the same port, every
environment variable it sets is a field of that service's settings class (or
of the common settings), the values validate, and dependencies wait on health.
Every secret comes from the environment as `${VAR:?message}`: no default in the
file, and `docker compose` stops naming the variable when it is unset.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from fanout_cli.stack.components import SERVICES, ServiceProcess
from fanout_cli.stack.kafka import kafka_version
from shared.secret_policy import check_secrets
from shared.settings import SECRET_NAMES, CommonSettings, env_name
from tests.deploy.settings_env import variables

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
INFRA_IMAGES = {
    "postgres": "postgres:",
    "kafka": "apache/kafka:",
    "clickhouse": "clickhouse/clickhouse-server:",
}
SECRET_VARIABLES = {env_name(CommonSettings, name): name for name in SECRET_NAMES}
REQUIRED_FROM_ENV = re.compile(r"^\$\{(?P<name>[A-Z_]+):\?(?P<message>[^}]+)\}$")
# secrets a service uses without requiring them at start (the sender's simulator key:
# only campaigns sent through the simulator need it, and this stack's do)
ALSO_USED = {"sender": {"simulator_api_key"}}


def _settings_class(service: ServiceProcess) -> type[BaseSettings]:
    module = importlib.import_module(f"services.{service.module}.config")
    cls: type[BaseSettings] = module.Settings
    assert issubclass(cls, BaseSettings)
    return cls


def _fields(cls: type[BaseSettings], prefix: str) -> set[str]:
    """The variables' names `cls` reads under `prefix`, with its nested settings classes
    read under the same prefix (campaign_api's sending-domain settings)."""
    names = set(cls.model_fields)
    for field in cls.model_fields.values():
        nested = field.annotation
        if not (isinstance(nested, type) and issubclass(nested, BaseSettings)):
            continue
        if nested.model_config.get("env_prefix") == prefix:
            names |= set(nested.model_fields)
    return names


def _field_for(var: str, service: ServiceProcess, cls: type[BaseSettings]) -> str | None:
    if var in variables(cls):  # a field of a settings class it holds, under that one's
        return var  # own prefix (campaign_api's dashboard: FANOUT_DASHBOARD_)
    if var.startswith(service.env_prefix):
        name = var[len(service.env_prefix) :].lower()
        return name if name in _fields(cls, service.env_prefix) else None
    if var.startswith("FANOUT_"):
        name = var[len("FANOUT_") :].lower()
        return name if name in CommonSettings.model_fields else None
    return None


def test_compose_has_every_stack_service() -> None:
    expected = {s.name for s in SERVICES} | set(INFRA_IMAGES) | {"init"}
    assert set(COMPOSE["services"]) == expected


@pytest.mark.parametrize("name", sorted(INFRA_IMAGES))
def test_compose_infra_uses_official_images_with_healthchecks(name: str) -> None:
    spec = COMPOSE["services"][name]
    assert spec["image"].startswith(INFRA_IMAGES[name])
    assert spec["healthcheck"]["test"]


def test_compose_kafka_image_matches_the_local_broker_version() -> None:
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"


def test_compose_init_waits_for_healthy_infra() -> None:
    depends = COMPOSE["services"]["init"]["depends_on"]
    assert {k: v["condition"] for k, v in depends.items()} == dict.fromkeys(
        INFRA_IMAGES, "service_healthy"
    )


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_compose_service_matches_its_settings(
    service: ServiceProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = COMPOSE["services"][service.name]
    assert spec["command"] == ["python", "-m", f"services.{service.module}"]
    assert spec["depends_on"]["init"]["condition"] == "service_completed_successfully"
    for dependency, condition in spec["depends_on"].items():
        if dependency != "init":
            assert condition["condition"] == "service_healthy"
    assert str(service.default_port) in " ".join(spec["healthcheck"]["test"])
    cls = _settings_class(service)
    env = {k: str(v) for k, v in spec["environment"].items()}
    unknown = [var for var in env if _field_for(var, service, cls) is None]
    assert unknown == [], f"{service.name} sets variables no settings class reads: {unknown}"
    assert int(env[f"{service.env_prefix}PORT"]) == service.default_port
    for var, value in env.items():
        required = REQUIRED_FROM_ENV.match(value)
        monkeypatch.setenv(var, secrets.token_urlsafe(32) if required else value)
    settings: Any = cls()
    assert settings.port == service.default_port
    assert settings.common.kafka_bootstrap_servers == "kafka:9092"
    assert settings.common.clickhouse_url.startswith("http://")
    check_secrets(settings)  # the secrets it needs are all given (a non-test environment)


def _environment(name: str) -> dict[str, str]:
    return {k: str(v) for k, v in COMPOSE["services"][name]["environment"].items()}


@pytest.mark.parametrize("name", sorted(COMPOSE["services"]))
def test_compose_takes_every_secret_from_the_environment_without_default(name: str) -> None:
    for var, value in _environment(name).items():
        required = REQUIRED_FROM_ENV.match(value)
        if var in SECRET_VARIABLES:
            assert required is not None, f"{name}: {var} must be ${{{var}:?message}}: {value}"
            assert required["name"] == var and var in required["message"]
        else:
            assert required is None, f"{name}: {var} is not a secret: give it a value"


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_compose_gives_each_service_only_the_secrets_it_uses(
    service: ServiceProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(service.name)
    for var, value in env.items():
        monkeypatch.setenv(var, secrets.token_urlsafe(32) if var in SECRET_VARIABLES else value)
    settings: Any = _settings_class(service)()
    given = {SECRET_VARIABLES[var] for var in env if var in SECRET_VARIABLES}
    required = set(settings.required_secrets())
    assert required <= given
    assert given <= required | ALSO_USED.get(service.module, set())


def test_compose_campaign_api_verifies_domains_with_the_simulators_dns() -> None:
    """Domain verification under compose asks the simulator's DNS server at its fixed
    address and port (the demo's records are published there)."""
    simulator = COMPOSE["services"]["esp-simulator"]
    address = simulator["networks"]["default"]["ipv4_address"]
    subnet = COMPOSE["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
    api = _environment("campaign-api")
    assert json.loads(api["FANOUT_CAMPAIGN_API_DNS_NAMESERVERS"]) == [address]
    dns_port = _environment("esp-simulator")["FANOUT_ESP_SIMULATOR_DNS_PORT"]
    assert api["FANOUT_CAMPAIGN_API_DNS_NAMESERVER_PORT"] == dns_port
