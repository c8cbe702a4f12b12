"""`fanout bench templates|launch-check` on small inputs: they run, measure and clean up."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from fanout_cli.main import app
from shared.settings import CommonSettings
from tests.fanout_cli.test_bench_isolated import _scratch_databases


def _bench(*args: str) -> str:
    result = CliRunner().invoke(app, ["bench", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.postgres
def test_bench_launch_check_answers_202_and_422(base_settings: CommonSettings) -> None:
    before = asyncio.run(_scratch_databases(base_settings.database_url))
    output = _bench("launch-check", "-n", "200", "--runs", "1")
    assert "imported 200 leads" in output
    lines = [line for line in output.splitlines() if "every lead" in line]
    assert any("attribute no lead has" in line and "422" in line for line in lines)
    assert any("attribute every lead has" in line and "202" in line for line in lines)
    assert asyncio.run(_scratch_databases(base_settings.database_url)) == before


@pytest.mark.kafka
@pytest.mark.postgres
def test_bench_templates_probes_a_campaign_api_of_its_own(base_settings: CommonSettings) -> None:
    before = asyncio.run(_scratch_databases(base_settings.database_url))
    output = _bench("templates", "--seconds", "3", "--quiet", "1", "--clients", "1")
    assert "issue 11's nested loops: save 422" in output
    assert "loops sized by the lead: preview 422" in output
    assert "alone, 1 s" in output and "1 clients, 3 s" in output
    assert asyncio.run(_scratch_databases(base_settings.database_url)) == before
