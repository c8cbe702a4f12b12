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
