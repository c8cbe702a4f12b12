"""The environment variables the code reads: every field of a service's settings classes.

A service's `Settings` has its own prefix (`FANOUT_SENDER_`); a field that is itself a
settings class (`common`: `FANOUT_`, campaign_api's `templates`: `FANOUT_TEMPLATE_`)
reads the environment with that class's prefix when it is built, so it is walked in turn.
"""

from __future__ import annotations

import importlib
import secrets
import types
import typing
from typing import Any

import pytest
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from shared.service.configuration import load_settings
from shared.settings import CommonSettings, ServiceSettings
from tests.deploy.chart import Manifest, literal_env, secret_env, service_module

# Connection strings that carry a password: secrets, though typed as plain strings.
CREDENTIAL_VARIABLES = frozenset({"FANOUT_DATABASE_URL", "FANOUT_CLICKHOUSE_URL"})


def settings_class(module: str) -> type[ServiceSettings]:
    """`services.<module>.config.Settings`."""
    cls: type[ServiceSettings] = importlib.import_module(f"services.{module}.config").Settings
    assert issubclass(cls, ServiceSettings)
    return cls


def _nested_settings(annotation: Any) -> type[BaseSettings] | None:
    candidates = typing.get_args(annotation) or (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseSettings):
            return candidate
    return None


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and SecretStr in typing.get_args(annotation)


def _names(cls: type[BaseSettings], name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, str):
        return [alias.upper()]
    if isinstance(alias, AliasChoices):
        return [choice.upper() for choice in alias.choices if isinstance(choice, str)]
    return [f"{cls.model_config.get('env_prefix', '')}{name}".upper()]


def variables(cls: type[BaseSettings]) -> dict[str, FieldInfo]:
    """Every variable `cls` (and the settings classes it holds) reads, with its field."""
    found: dict[str, FieldInfo] = {}
    for name, field in cls.model_fields.items():
        nested = _nested_settings(field.annotation)
        if nested is not None:
            found.update(variables(nested))
        else:
            found.update(dict.fromkeys(_names(cls, name, field), field))
    return found


def secret_variables(cls: type[BaseSettings]) -> set[str]:
    """The variables of `cls` that hold a secret (never a literal value in a manifest)."""
    secret = {var for var, field in variables(cls).items() if _is_secret(field.annotation)}
    return secret | (CREDENTIAL_VARIABLES & set(variables(cls)))


COMMON_VARIABLES = variables(CommonSettings)


def load_service_settings(
    container: Manifest, monkeypatch: pytest.MonkeyPatch
) -> ServiceSettings | None:
    """The settings a container's process reads from its environment, checked as at start-up
    (a fresh value for each secret it reads from the Secret); None for a non-service Job."""
    for var, value in literal_env(container).items():
        monkeypatch.setenv(var, value)
    for var in secret_env(container):
        monkeypatch.setenv(var, secrets.token_urlsafe(32))
    module = service_module(container)
    return None if module is None else load_settings(settings_class(module))
