"""Every service refuses to start, outside `test`, with a missing or known-default secret or
an invalid setting: one line on stderr naming the variable, exit code 2, no traceback.

The whole matrix (every service, every secret it needs) runs in-process through
`load_settings`, the first step of the start-up path; one real process per service
shows the path end to end (it stops before any connection is tried, so it is fast).
"""

from __future__ import annotations

import importlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.errors import InvalidSetting
from shared.secret_policy import KNOWN_DEFAULTS
from shared.service.configuration import load_settings
from shared.settings import SECRET_NAMES, CommonSettings, SecretName, ServiceSettings, env_name
from shared.templating.limits import TemplateLimits

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [
    "campaign_api",
    "lead_resolver",
    "sender",
    "webhook_ingest",
    "report_sink",
    "esp_simulator",
    "guard",
]
VARIABLES = {name: env_name(CommonSettings, name) for name in SECRET_NAMES}
PRODUCTION = {
    "FANOUT_ENVIRONMENT": "production",
    "FANOUT_WEBHOOK_INGEST_PROVIDERS": '["simulator"]',
}


def _settings_class(service: str) -> type[ServiceSettings]:
    cls: type[ServiceSettings] = importlib.import_module(f"services.{service}.config").Settings
    return cls


def _required(service: str) -> tuple[SecretName, ...]:
    return _settings_class(service)(common=CommonSettings()).required_secrets()


def _environment(**changes: str | None) -> dict[str, str]:
    """Production with every secret set to a fresh value, then `changes` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANOUT_")}
    env |= PRODUCTION | {var: secrets.token_urlsafe(32) for var in VARIABLES.values()}
    env |= {k: v for k, v in changes.items() if v is not None}
    return {k: v for k, v in env.items() if changes.get(k, "") is not None}


MISSING = [(s, VARIABLES[n]) for s in SERVICES for n in _required(s)]


@pytest.mark.parametrize(("service", "variable"), MISSING)
def test_load_settings_refuses_missing_secret(
    service: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in _environment(**{variable: None}).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InvalidSetting) as refused:
        load_settings(_settings_class(service))
    assert refused.value.setting == variable
    assert str(refused.value).startswith(f"{variable} is not set; ")


@pytest.mark.parametrize("variable", sorted(VARIABLES.values()))
@pytest.mark.parametrize("value", ["dev-only-insecure-secret-change-me", "sim-dev-key", "x7Qz"])
def test_load_settings_refuses_known_default_or_short_secret(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, env_value in _environment(**{variable: value}).items():
        monkeypatch.setenv(key, env_value)
    with pytest.raises(InvalidSetting) as refused:
        load_settings(_settings_class("esp_simulator"))  # set even where not required: refused
    assert refused.value.setting == variable
    assert value not in str(refused.value)  # a secret is never echoed
    assert value in KNOWN_DEFAULTS or "shorter than" in str(refused.value)


def test_load_settings_in_test_fills_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("FANOUT_ENVIRONMENT", "test")
    settings = load_settings(_settings_class("esp_simulator"))
    assert settings.common.secret("simulator_api_key") == CommonSettings().secret(
        "simulator_api_key"
    )  # one random value per process, so in-process apps and clients agree


def _start(service: str, env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", f"services.{service}"],
        cwd=ROOT,
        env=env | {"FANOUT_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line_naming(result: subprocess.CompletedProcess[str], service: str, variable: str) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"{service} cannot start: {variable} ")
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("value", [None, "dev-only-insecure-secret-change-me"])
@pytest.mark.parametrize("service", SERVICES)
def test_start_service_in_production_with_missing_or_default_secret_exits_2_naming_it(
    service: str, value: str | None, tmp_path: Path
) -> None:
    variable = VARIABLES[_required(service)[-1]]
    result = _start(service, _environment(**{variable: value}), tmp_path)
    _one_line_naming(result, service, variable)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("FANOUT_SENDER_PORT", "eighty"), ("FANOUT_ENVIRONMENT", "staging")],
)
def test_start_service_with_an_invalid_setting_exits_2_naming_it(
    variable: str, value: str, tmp_path: Path
) -> None:
    result = _start("sender", _environment(**{variable: value}), tmp_path)
    _one_line_naming(result, "sender", variable)
    assert value not in result.stderr


@pytest.mark.parametrize(
    ("service", "variable"),
    [
        ("sender", "FANOUT_SENDER_RETRY_MAX_S"),
        ("webhook_ingest", "FANOUT_WEBHOOK_INGEST_SNS_MAX_AGE_S"),
    ],
)
def test_load_settings_refuses_a_duration_of_zero(
    service: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `shared.settings.Seconds`: a timeout or TTL of 0 would mean "never wait"
    monkeypatch.setenv(variable, "0")
    with pytest.raises(InvalidSetting) as refused:
        load_settings(_settings_class(service))
    assert refused.value.setting == variable


def test_template_limits_refuse_a_render_time_of_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANOUT_TEMPLATE_MAX_RENDER_SECONDS", "0")
    with pytest.raises(ValidationError, match="max_render_seconds"):
        TemplateLimits()
    monkeypatch.setenv("FANOUT_TEMPLATE_MAX_RENDER_SECONDS", "0.5")
    assert TemplateLimits().max_render_seconds == 0.5
