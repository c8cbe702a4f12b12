"""Reports queries run before background reads: the reader's session has the highest query
priority, the analysts' and the campaign summary's a lower one, the writer's none."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.report_sink.config import Settings
from services.report_sink.main import (
    BACKGROUND_PRIORITY,
    REPORTS_PRIORITY,
    open_clickhouse,
    summary_settings,
)
from shared.clickhouse import AsyncClickHouse, connect
from shared.settings import CommonSettings

pytestmark = pytest.mark.clickhouse

PRIORITY_SQL = "SELECT getSetting('priority')"


async def test_reports_queries_outrank_the_summary_and_the_analysts(tmp_path: Path) -> None:
    common = CommonSettings(environment="test", home=tmp_path)
    settings = Settings(common=common)
    writer, reader, analyst = open_clickhouse(settings)
    summary = AsyncClickHouse(connect(common, settings=summary_settings(settings)))
    try:
        priorities = {
            name: (await client.rows(PRIORITY_SQL))[0][0]
            for name, client in (
                ("writer", writer),
                ("reader", reader),
                ("analyst", analyst),
                ("summary", summary),
            )
        }
    finally:
        for client in (summary, analyst, reader, writer):
            client.close()
    assert 0 < REPORTS_PRIORITY < BACKGROUND_PRIORITY  # 0 would mean no priority at all
    assert priorities == {
        "writer": 0,  # inserts are never paused
        "reader": REPORTS_PRIORITY,
        "analyst": BACKGROUND_PRIORITY,
        "summary": BACKGROUND_PRIORITY,
    }


@pytest.mark.parametrize("threads", [1, 3])
async def test_the_summary_recomputes_on_the_threads_it_is_given(
    tmp_path: Path, threads: int
) -> None:
    """`summary_max_threads` caps a recompute's threads, so the busy share paces its CPU;
    0 leaves the engine's default (the writer's)."""
    common = CommonSettings(environment="test", home=tmp_path)
    capped = Settings(common=common, summary_max_threads=threads)
    default = Settings(common=common, summary_max_threads=0)
    sessions = [connect(common, settings=summary_settings(s)) for s in (capped, default)]
    clients = [AsyncClickHouse(session) for session in sessions]
    writer = AsyncClickHouse(connect(common))
    try:
        sql = "SELECT getSetting('max_threads')"
        got = [(await client.rows(sql))[0][0] for client in (*clients, writer)]
    finally:
        for client in (*clients, writer):
            client.close()
    assert got[0] == threads
    assert got[1] == got[2]  # the engine's own default, whatever the machine's cores
