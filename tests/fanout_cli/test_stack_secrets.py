"""The stack's secrets: generated once into <home>/secrets.env (0600), reused, handed over.

The services the stack starts get them in their environment, the commands that need
one (`fanout sql --admin`, `fanout stack status`, the benchmark) read them from the
file, and a value set in the caller's environment wins over the file for both.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from fanout_cli.report.client import admin_token
from fanout_cli.stack.components import service_named
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.secrets import (
    ensure_secrets,
    read_secrets,
    secrets_path,
    stack_secret,
    variable,
)
from shared.secret_policy import refusal
from shared.settings import SECRET_NAMES, CommonSettings

VARIABLES = [variable(name) for name in SECRET_NAMES]


def test_ensure_secrets_generates_each_once_readable_by_owner_only(tmp_path: Path) -> None:
    assert ensure_secrets(tmp_path) is True
    path = secrets_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = read_secrets(tmp_path)
    assert sorted(first) == sorted(VARIABLES)
    assert len(set(first.values())) == len(VARIABLES)  # a secret per purpose
    for name in SECRET_NAMES:  # each passes the services' own check
        assert refusal(SecretStr(first[variable(name)]), required=True) is None
    assert ensure_secrets(tmp_path) is False
    assert read_secrets(tmp_path) == first  # reused on every later start


def test_ensure_secrets_completes_a_partial_file_keeping_what_is_there(tmp_path: Path) -> None:
    secrets_path(tmp_path).write_text("FANOUT_ADMIN_TOKEN=kept-by-the-operator-0123456789\n")
    assert ensure_secrets(tmp_path) is True
    found = read_secrets(tmp_path)
    assert found["FANOUT_ADMIN_TOKEN"] == "kept-by-the-operator-0123456789"
    assert sorted(found) == sorted(VARIABLES)
    assert stat.S_IMODE(secrets_path(tmp_path).stat().st_mode) == 0o600


def test_service_env_carries_the_stack_secrets_caller_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FANOUT_WEBHOOK_INGEST_PROVIDERS", raising=False)
    monkeypatch.setenv("FANOUT_OPS_TOKEN", "from-the-callers-environment-01")
    common = CommonSettings(home=tmp_path)
    env = service_named("webhook_ingest").env(common)
    stored = read_secrets(tmp_path)
    assert env["FANOUT_LINK_SECRET"] == stored["FANOUT_LINK_SECRET"]
    assert env["FANOUT_OPS_TOKEN"] == "from-the-callers-environment-01"
    assert "simulator" in json.loads(env["FANOUT_WEBHOOK_INGEST_PROVIDERS"])  # the stack's ESP
    again = service_named("sender").env(common)
    assert again["FANOUT_LINK_SECRET"] == env["FANOUT_LINK_SECRET"]  # one value per stack


def test_stack_secret_configured_else_file_else_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANOUT_ENVIRONMENT", "development")  # no test values filled in
    monkeypatch.setenv("FANOUT_HOME", str(tmp_path))
    monkeypatch.delenv("FANOUT_ADMIN_TOKEN", raising=False)
    with pytest.raises(StackError, match="no FANOUT_ADMIN_TOKEN"):
        stack_secret(CommonSettings(), "admin_token")
    ensure_secrets(tmp_path)
    stored = read_secrets(tmp_path)["FANOUT_ADMIN_TOKEN"]
    assert stack_secret(CommonSettings(), "admin_token") == stored
    assert admin_token(None) == stored  # what `fanout sql --admin` sends
    monkeypatch.setenv("FANOUT_ADMIN_TOKEN", "set-by-the-operator-0123456789")
    assert admin_token(None) == "set-by-the-operator-0123456789"
