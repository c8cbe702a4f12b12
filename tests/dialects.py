"""The simulator's provider dialects for tests, wired as the local stack wires them.

The credentials and settings come from `fanout_cli.stack.esp_dialects` (the
stack's own wiring), turned into settings objects for services run in-process
and into environments for services run as processes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from fanout_cli.stack.esp_dialects import (
    DialectCredentials,
    ingest_env,
    sender_env,
    simulator_env,
)
from services.esp_simulator.app import create_app
from services.esp_simulator.config import Settings as SimulatorSettings
from services.esp_simulator.testing import bound_socket, serving
from services.sender.config import Settings as SenderSettings
from services.sender.providers.base import EmailProvider
from services.sender.providers.registry import ADAPTERS
from shared.settings import CommonSettings
from tests.ports import free_port

SECRET = "dialect-test-secret"
CREDS = DialectCredentials.derive(SECRET)
ADAPTER_NAMES = ("sendgrid", "mailgun", "postmark", "ses", "smtp")


def _settings(env: dict[str, str], prefix: str) -> dict[str, Any]:
    """Flat settings from environment variables (JSON values decoded where they are JSON)."""
    values: dict[str, Any] = {}
    for name, raw in env.items():
        key = name.removeprefix(prefix).lower()
        try:
            value: Any = json.loads(raw) if raw[:1] in "[{" else raw
        except ValueError:
            value = raw
        values[key] = value
    return values


@dataclass
class RunningSimulator:
    """The simulator served in-process with every dialect."""

    url: str
    smtp_port: int
    app: FastAPI

    def adapter(self, name: str, **changes: Any) -> EmailProvider:
        """The sender's adapter `name`, configured as the stack configures it (`changes` on top)."""
        return make_adapter(name, self.url, self.smtp_port, **changes)


def make_adapter(name: str, url: str, smtp_port: int, **changes: Any) -> EmailProvider:
    """Adapter `name` pointed at the simulator at `url`."""
    nested: dict[str, Any] = {}
    for key, value in _settings(sender_env(CREDS, url, smtp_port), "FANOUT_SENDER_").items():
        provider, _, field = key.partition("__")
        if provider == name:
            nested[field] = value
    model = SenderSettings.model_fields[name].annotation
    assert model is not None
    return ADAPTERS[name](model.model_validate(nested | changes))


def simulator_settings(
    common: CommonSettings, *, port: int, smtp_port: int, **knobs: Any
) -> SimulatorSettings:
    """The simulator's settings with every dialect, on `port`."""
    values = _settings(simulator_env(CREDS, smtp_port), "FANOUT_ESP_SIMULATOR_")
    return SimulatorSettings(common=common, port=port, **(values | knobs))


def ingest_values(simulator_url: str) -> dict[str, Any]:
    """webhook_ingest settings verifying the simulator's dialect webhooks."""
    return _settings(ingest_env(CREDS, simulator_url), "FANOUT_WEBHOOK_INGEST_")


@contextlib.asynccontextmanager
async def running_dialects(
    common: CommonSettings, port: int = 0, **knobs: Any
) -> AsyncIterator[RunningSimulator]:
    """The simulator with every dialect (SMTP on a free port), served on `port` (0: a free
    one, its socket bound before the app is built with it, so no other test takes it)."""
    with bound_socket(port=port) as sock:
        port, smtp_port = sock.getsockname()[1], free_port()
        settings = simulator_settings(common, port=port, smtp_port=smtp_port, **knobs)
        app = create_app(settings)
        async with serving(app, sock=sock) as url:
            yield RunningSimulator(url, smtp_port, app)
