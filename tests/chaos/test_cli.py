"""`fanout chaos` refuses an unknown scenario before it touches any stack."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fanout_cli.main import app


def test_chaos_unknown_scenario_exits_1_naming_known_ones(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(
        app,
        ["chaos", "--scenario", "kill-everything"],
        env={"FANOUT_HOME": str(home), "COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert "unknown scenario(s) kill-everything" in result.output
    assert "kill-sender" in result.output
    assert not home.exists()
