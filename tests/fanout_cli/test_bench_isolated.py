"""`fanout bench sink|decode|queries|import|conditions` on small inputs: they run and count.

The figures are not asserted (speed belongs in docs/benchmarks.md); what is asserted is
that each benchmark measures the work it claims, on the real engine, and cleans up.
"""

from __future__ import annotations

import asyncio
import gc

import asyncpg
import pytest
from typer.testing import CliRunner

from fanout_cli.bench.conditions import CONDITIONS
from fanout_cli.main import app
from shared.settings import CommonSettings


def _bench(*args: str) -> str:
    result = CliRunner().invoke(app, ["bench", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_bench_decode_compares_three_decoders() -> None:
    output = _bench("decode", "--events", "300", "--per-message", "50")
    for decoder in ("fast path (event_rows)", "model_validate_json", "strict_rows"):
        assert decoder in output


@pytest.mark.clickhouse
def test_bench_sink_inserts_every_event() -> None:
    output = _bench("sink", "--events", "2000", "--per-message", "50", "--batch", "500")
    assert "decode + insert into chDB: 2,000 events, 50/message" in output


@pytest.mark.clickhouse
def test_bench_queries_times_every_report_query() -> None:
    output = _bench("queries", "--leads", "500")
    for query in ("funnel", "recipients mid page", "bounces", "lead history", "CSV"):
        assert query in output


@pytest.mark.clickhouse
def test_bench_campaign_list_times_exact_and_summary() -> None:
    output = _bench("campaign-list", "--events", "3000", "--samples", "2")
    assert "events in 1,000 campaigns generated" in output  # 3,000 sends and their bounces
    for way in ("exact (before)", "summary (after)", "window cutting every campaign"):
        assert way in output


async def _scratch_databases(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'fanout_bench_%'"
        )
        return [r["datname"] for r in rows]
    finally:
        await conn.close()


@pytest.mark.postgres
@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_bench_import_counts_leads_and_drops_its_database(
    base_settings: CommonSettings, file_format: str
) -> None:
    before = asyncio.run(_scratch_databases(base_settings.database_url))
    collector = gc.get_threshold(), gc.get_freeze_count()
    output = _bench("import", "-n", "300", "--format", file_format)
    assert f"{file_format}: 300 leads in" in output
    assert "(created 300, rejected 0)" in output
    assert asyncio.run(_scratch_databases(base_settings.database_url)) == before
    # it imports under the services' collector settings, then puts this process's back
    assert (gc.get_threshold(), gc.get_freeze_count()) == collector


@pytest.mark.postgres
def test_bench_conditions_shows_matches_and_plans(base_settings: CommonSettings) -> None:
    output = _bench("conditions", "-n", "400", "--runs", "1")
    assert "loaded 400 leads" in output
    assert "Scan" in output
    # every operator of the condition language is measured, each on its own row
    rows = [line for line in output.splitlines() if "│" in line]
    for operator in {op for op, _, _ in CONDITIONS}:
        assert any(line.split("│")[1].strip() == operator for line in rows), operator
