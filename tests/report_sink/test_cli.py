"""The admin token hand-over between report_sink and `fanout sql`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from services.report_sink.cli import _admin_token
from services.report_sink.config import Settings
from services.report_sink.main import admin_token_path, resolve_admin_token
from shared.settings import CommonSettings


def test_write_admin_token_for_local_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(common=CommonSettings(home=tmp_path))
    token = resolve_admin_token(settings)
    path = admin_token_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("FANOUT_HOME", str(tmp_path))
    assert _admin_token(None) == token
    assert resolve_admin_token(settings) != token  # a fresh one at every start


def test_use_configured_admin_token(tmp_path: Path) -> None:
    settings = Settings(common=CommonSettings(home=tmp_path), admin_token="set-by-operator")
    assert resolve_admin_token(settings) == "set-by-operator"
    assert not admin_token_path(settings).exists()
