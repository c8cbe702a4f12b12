"""ClickHouse migrations: idempotent, recorded, durable; the precedence kept in step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.report_sink.precedence import PRECEDENCE
from services.report_sink.schema import MIGRATIONS_DIR, load_migrations, migrate, split_statements
from shared.clickhouse import AsyncClickHouse, connect_embedded

pytestmark = pytest.mark.clickhouse


async def test_apply_migrations_twice_and_after_reopen(chdb_path: Path) -> None:
    ch = AsyncClickHouse(connect_embedded(chdb_path))
    try:
        first = await migrate(ch)
        second = await migrate(ch)
        assert first == [m.version for m in load_migrations()] and first
        assert second == []
        tables = {r[0] for r in await ch.rows("SHOW TABLES")}
        assert {"email_events", "lead_status", "campaign_hourly", "schema_migrations"} <= tables
    finally:
        ch.close()
    reopened = AsyncClickHouse(connect_embedded(chdb_path))
    try:
        assert await migrate(reopened) == []
        versions = await reopened.rows("SELECT version FROM schema_migrations ORDER BY version")
        assert [v for (v,) in versions] == first
    finally:
        reopened.close()


async def test_apply_migrations_reruns_a_half_applied_file(ch: AsyncClickHouse) -> None:
    # a crash after a file's statements but before its version was recorded
    await ch.command("DELETE FROM schema_migrations WHERE version = 2")
    assert await migrate(ch) == [2]


def test_precedence_matches_lead_status_view() -> None:
    sql = (MIGRATIONS_DIR / "0002_lead_status.sql").read_text()
    types = re.search(r"type,\s*\[(.*?)\]", sql, re.DOTALL)
    assert types is not None
    in_sql = re.findall(r"'(\w+)'", types.group(1))
    assert in_sql == [t.value for t in PRECEDENCE]


DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "clickhouse"


async def test_parse_cluster_ddl_and_users(ch: AsyncClickHouse) -> None:
    files = sorted(DEPLOY.rglob("*.sql"))
    assert len(files) >= 4
    for path in files:
        for statement in split_statements(path.read_text()):
            await ch.rows("SELECT formatQuery({q:String})", {"q": statement})
    cluster = load_migrations(DEPLOY / "cluster")
    assert [m.version for m in cluster] == [m.version for m in load_migrations()]
