"""docker-compose.yml cannot run here (no Docker engine), so it is checked against the code.

Every Fanout service of the local stack is in it with the same port, every
environment variable it sets is a field of that service's settings class (or
of the common settings), the values validate, and dependencies wait on health.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from fanout_cli.stack.components import SERVICES, ServiceProcess
from fanout_cli.stack.kafka import kafka_version
from shared.settings import CommonSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
INFRA_IMAGES = {
    "postgres": "postgres:",
    "kafka": "apache/kafka:",
    "clickhouse": "clickhouse/clickhouse-server:",
}


def _settings_class(service: ServiceProcess) -> type[BaseSettings]:
    module = importlib.import_module(f"services.{service.module}.config")
    cls: type[BaseSettings] = module.Settings
    assert issubclass(cls, BaseSettings)
    return cls


def _field_for(var: str, service: ServiceProcess, cls: type[BaseSettings]) -> str | None:
    if var.startswith(service.env_prefix):
        name = var[len(service.env_prefix) :].lower()
        return name if name in cls.model_fields else None
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
        monkeypatch.setenv(var, value.replace("${FANOUT_SIGNING_SECRET:-", "").rstrip("}"))
    settings: Any = cls()
    assert settings.port == service.default_port
    assert settings.common.kafka_bootstrap_servers == "kafka:9092"
    assert settings.common.clickhouse_url.startswith("http://")
