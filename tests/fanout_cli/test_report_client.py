"""`fanout report` and `fanout sql`: the admin token hand-over and clear failures."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanout_cli.main import app
from fanout_cli.report.client import admin_token
from services.report_sink.config import Settings
from services.report_sink.main import admin_token_path, resolve_admin_token
from shared.settings import CommonSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_write_admin_token_for_local_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(common=CommonSettings(home=tmp_path))
    token = resolve_admin_token(settings)
    path = admin_token_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("FANOUT_HOME", str(tmp_path))
    assert admin_token(None) == token
    assert resolve_admin_token(settings) != token  # a fresh one at every start


def test_use_configured_admin_token(tmp_path: Path) -> None:
    settings = Settings(common=CommonSettings(home=tmp_path), admin_token="set-by-operator")
    assert resolve_admin_token(settings) == "set-by-operator"
    assert not admin_token_path(settings).exists()


def test_sql_command_when_report_sink_is_down() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(app, ["sql", "SELECT 1", "--url", url, "--token", "x"])
    assert result.exit_code == 1
    assert "report_sink is not answering" in result.output
    assert "Traceback" not in result.output


def test_report_funnel_when_report_sink_is_down() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    args = ["report", "funnel", "c0ffee", "--url", url, "--api-key", "fo_x"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert f"report_sink is not answering at {url}" in result.output


def test_sql_command_without_admin_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANOUT_HOME", str(tmp_path))
    monkeypatch.delenv("FANOUT_REPORT_SINK_ADMIN_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["sql", "SELECT 1"])
    assert result.exit_code == 1
    assert "no admin token" in result.output
