"""`fanout demo` when the stack goes away under it: a message naming the fix, no traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fanout_cli import main
from fanout_cli.demo import run
from fanout_cli.stack import orchestrate
from tests.ports import free_port

pytestmark = pytest.mark.postgres


def test_demo_whose_api_is_gone_names_the_fix(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the stack "came up" and then went away: nothing listens where the demo calls
    monkeypatch.setattr(orchestrate, "up", lambda *_: None)
    gone = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(run, "API", gone)
    monkeypatch.setattr(run, "SIMULATOR", gone)

    result = CliRunner().invoke(
        main.app, ["demo", "--leads", "10"], env={"FANOUT_DATABASE_URL": pg_dsn}
    )

    said = " ".join(result.output.split())  # the console wraps long lines
    assert result.exit_code == 1, said
    assert "the demo lost the stack: ConnectError at " + gone in said
    assert "`fanout stack status` shows what runs" in said
    assert "Traceback" not in said
    assert result.exception is None or isinstance(result.exception, SystemExit)
