"""`fanout report` and `fanout sql`: clear failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanout_cli.main import app
from tests.ports import free_port


def test_sql_command_when_report_sink_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["sql", "SELECT 1", "--url", url, "--admin", "--token", "x"])
    assert result.exit_code == 1
    assert "report_sink is not answering" in result.output
    assert "Traceback" not in result.output


def test_report_funnel_when_report_sink_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    args = ["report", "funnel", "c0ffee", "--url", url, "--api-key", "fo_x"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert f"report_sink is not answering at {url}" in result.output


def test_sql_command_admin_without_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANOUT_HOME", str(tmp_path))
    monkeypatch.setenv("FANOUT_ENVIRONMENT", "development")  # no secret filled in for tests
    monkeypatch.delenv("FANOUT_ADMIN_TOKEN", raising=False)
    # wide: the message names a folder of pytest's, which a narrow console wraps anywhere
    result = CliRunner().invoke(app, ["sql", "SELECT 1", "--admin"], env={"COLUMNS": "1000"})
    assert result.exit_code == 1
    assert "no FANOUT_ADMIN_TOKEN" in result.output and "secrets.env" in result.output


def test_sql_command_without_key_or_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FANOUT_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["sql", "SELECT 1"])
    assert result.exit_code == 1
    assert "--api-key" in result.output and "--admin" in result.output
