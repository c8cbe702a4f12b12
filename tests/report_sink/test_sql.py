"""Analysts' SQL: one read-only statement decided by ClickHouse's parser, and account scope.

Two accounts with events in a fresh chDB folder. Operators' `/internal/sql` refuses
every form that writes, kills, changes settings or reaches files and other servers
(naming why, and writing nothing); an account's `/reports/sql` returns only that
account's rows whatever the query does to reach others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from services.report_sink.config import Settings
from services.report_sink.main import create_app, open_clickhouse
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.contracts.events import EventType
from shared.settings import CommonSettings
from tests.events import event
from tests.report_sink.helpers import T0, Tenant, make_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.clickhouse]

ADMIN = "test-admin-token-for-sql"
MAX_ROWS = 50


@dataclass
class Analysts:
    """The reports app on two accounts' events (A has 3 leads, B has 2)."""

    client: httpx.AsyncClient
    a: Tenant
    b: Tenant
    outfile: Path

    async def admin(self, query: str) -> httpx.Response:
        headers = {"X-Fanout-Admin-Token": ADMIN}
        return await self.client.post("/internal/sql", json={"query": query}, headers=headers)

    async def account(self, tenant: Tenant, query: str) -> httpx.Response:
        body = {"query": query}
        return await self.client.post("/reports/sql", json=body, headers=tenant.headers)

    async def rows(self, tenant: Tenant, query: str) -> list[list[Any]]:
        response = await self.account(tenant, query)
        assert response.status_code == 200, response.text
        rows: list[list[Any]] = response.json()["rows"]
        return rows


@pytest.fixture
async def analysts(
    pool: asyncpg.Pool, base_settings: CommonSettings, pg_dsn: str, tmp_path: Path
) -> AsyncIterator[Analysts]:
    common = base_settings.model_copy(update={"database_url": pg_dsn, "home": tmp_path})
    settings = Settings(
        common=common,
        sql_max_rows=MAX_ROWS,
        sql_max_result_bytes=1 << 20,
        sql_max_seconds=2,
        query_max_memory_bytes=64 << 20,
    )
    writer, reader, analyst = open_clickhouse(settings)
    try:
        await migrate(writer)
        a, b = await make_tenant(pool, leads=3), await make_tenant(pool, leads=2)
        events = [
            event(t.account_id, t.campaign_id, lead, kind, T0, email=f"{n}@{t.account_id}.test")
            for t in (a, b)
            for n, lead in enumerate(t.lead_ids)
            for kind in (EventType.SENT, EventType.DELIVERED)
        ]
        body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
        await EventWriter(writer).insert(body, "events")
        app = create_app(settings, reader=reader, analyst=analyst, pool=pool, admin_token=ADMIN)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Analysts(client, a, b, tmp_path / "written.txt")
    finally:
        for ch in (analyst, reader, writer):
            ch.close()


def _refused(response: httpx.Response, why: str) -> None:
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail.startswith("query refused: ") and why.lower() in detail.lower(), detail


FORBIDDEN = [
    ("SELECT 'pwned' INTO OUTFILE '{out}' APPEND", "INTO OUTFILE"),
    ("SELECT 'pwned' INTO OUTFILE '{out}' TRUNCATE COMPRESSION 'gzip'", "INTO OUTFILE"),
    ("EXPLAIN SELECT 1 INTO OUTFILE '{out}'", "INTO OUTFILE"),
    ("SHOW TABLES INTO OUTFILE '{out}'", "INTO OUTFILE"),
    ("KILL QUERY WHERE 1", "KILL QUERY is not allowed"),
    ("KILL MUTATION WHERE 1", "KILL MUTATION is not allowed"),
    ("SYSTEM FLUSH LOGS", "SYSTEM is not allowed"),
    ("SYSTEM SHUTDOWN", "SYSTEM is not allowed"),
    ("SET readonly = 0", "SET is not allowed"),
    ("DROP TABLE email_events", "DROP is not allowed"),
    ("INSERT INTO schema_migrations (version) VALUES (9)", "statement is not allowed"),
    ("INSERT INTO schema_migrations (version) SELECT 9", "INSERT is not allowed"),
    ("OPTIMIZE TABLE email_events FINAL", "OPTIMIZE is not allowed"),
    ("SELECT 1; SELECT 2", "Multi-statements"),
    ("SELECT 1 SETTINGS readonly = 0", "SETTINGS is not allowed"),
    ("SELECT 1 FORMAT JSON", "FORMAT is not allowed"),
    ("SELECT * FROM file('{out}', 'LineAsString')", "table function file()"),
    ("SELECT * FROM url('http://127.0.0.1:9/x', 'CSV', 'a String')", "table function url()"),
    ("SELECT * FROM s3('http://127.0.0.1:9/b/k', 'CSV', 'a String')", "table function s3()"),
    ("SELECT * FROM remote('127.0.0.1:9', system.one)", "table function remote()"),
    ("SELECT * FROM mysql('127.0.0.1:9', 'd', 't', 'u', 'p')", "table function mysql()"),
    ("SELECT * FROM postgresql('127.0.0.1:9', 'd', 't', 'u', 'p')", "postgresql()"),
    ("SELECT * FROM hdfs('hdfs://127.0.0.1:9/x', 'CSV', 'a String')", "table function hdfs()"),
    ("SELECT * FROM input('a String')", "table function input()"),
    ("SELECT * FROM executable('x.sh', 'CSV', 'a String')", "table function executable()"),
    ("SELECT * FROM merge(currentDatabase(), '.*')", "table function merge()"),
    ("SELECT * FROM email_events WHERE 1 IN (SELECT 1 FROM FILE('{out}'))", "file()"),
    (
        "WITH x AS (SELECT * FROM url('http://127.0.0.1:9/', 'CSV', 'a String')) SELECT * FROM x",
        "url()",
    ),
    ("SELECT file('{out}')", "function file()"),
    ("SELECT dictGet('d', 'a', 1)", "function dictget()"),
    ("SELECT joinGet('t', 'a', 1)", "function joinget()"),
    ("EXPLAIN SELECT * FROM file('{out}')", "table function file()"),
    ("EXPLAIN AST KILL QUERY WHERE 1", "allowed of a SELECT only"),
    ("DESCRIBE TABLE file('{out}', 'LineAsString')", "DESCRIBE is allowed of a table"),
    ("DESCRIBE TABLE url('http://127.0.0.1:9/x', 'CSV')", "DESCRIBE is allowed of a table"),
    ("DESCRIBE TABLE email_events INTO OUTFILE '{out}'", "DESCRIBE is allowed of a table"),
    ("SHOW CREATE TABLE email_events", "not allowed"),
    ("SHOW CREATE TABLE email_events INTO OUTFILE '{out}'", "not allowed"),
]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("SELECT type, count() FROM email_events GROUP BY type ORDER BY type", ["delivered", 5]),
        ("WITH s AS (SELECT * FROM email_events WHERE type = 'sent') SELECT count() FROM s", [5]),
        ("SELECT count() FROM system.tables WHERE name = 'email_events'", [1]),
        ("SELECT sum(number) FROM numbers(10)", [45]),
        ("SHOW TABLES LIKE 'email_events'", ["email_events"]),
        ("DESCRIBE TABLE email_events", ["event_id", "UUID"]),
        ("DESC default.lead_status", ["account_id", "UUID"]),
        ("EXPLAIN SYNTAX SELECT 1", None),
        ("EXPLAIN PLAN header = 1 SELECT count() FROM email_events", None),
    ],
)
async def test_run_sql_allowed_statement_answers(
    analysts: Analysts, query: str, first: list[Any] | None
) -> None:
    response = await analysts.admin(query)
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert rows
    if first is not None:
        assert rows[0][: len(first)] == first


async def test_run_sql_over_the_limits_refused(analysts: Analysts) -> None:
    _refused(await analysts.admin(f"SELECT number FROM numbers({MAX_ROWS + 1})"), "max rows")
    wide = "SELECT repeat(toString(number), 100000) FROM numbers(40)"  # 6.7 MiB in 40 rows
    _refused(await analysts.admin(wide), "bytes")
    _refused(await analysts.admin("SELECT groupArray(number) FROM numbers(100000000)"), "memory")
    _refused(await analysts.admin("SELECT sleepEachRow(1) FROM numbers(3)"), "timeout")


async def test_run_account_sql_reads_own_rows_only(analysts: Analysts) -> None:
    a, b = analysts.a, analysts.b
    mine = {str(a.account_id)}
    own = "SELECT DISTINCT account_id FROM email_events"
    assert {r[0] for r in await analysts.rows(a, own)} == mine
    assert {r[0] for r in await analysts.rows(b, own)} == {str(b.account_id)}
    reaching = [
        "SELECT DISTINCT e.account_id FROM email_events AS e JOIN lead_status AS s "
        "ON e.lead_id = s.lead_id",
        "SELECT DISTINCT account_id FROM (SELECT * FROM (SELECT account_id FROM email_events))",
        "SELECT account_id FROM email_events UNION DISTINCT SELECT account_id FROM lead_status "
        "UNION DISTINCT SELECT account_id FROM campaign_hourly",
        "WITH x AS (SELECT account_id FROM email_events WHERE account_id != "
        f"'{a.account_id}') SELECT DISTINCT account_id FROM x UNION ALL SELECT '{a.account_id}'",
        "SELECT DISTINCT account_id FROM email_events FINAL",
        "SELECT DISTINCT account_id FROM lead_status FINAL",
        "SELECT DISTINCT account_id FROM lead_steps FINAL",
        "SELECT DISTINCT s.account_id FROM lead_steps AS s JOIN send_outcomes AS o "
        "ON s.lead_id = o.lead_id",
        "SELECT DISTINCT email_events.account_id FROM email_events "
        f"WHERE account_id = '{b.account_id}' OR 1 = 1",
        "SELECT DISTINCT account_id FROM email_events WHERE lead_id IN "
        "(SELECT lead_id FROM lead_status)",
        "SELECT (SELECT any(account_id) FROM email_events WHERE account_id != "
        f"'{a.account_id}') IS NULL OR true, '{a.account_id}'",
    ]
    for query in reaching:
        rows = await analysts.rows(a, query)
        values = {str(v) for row in rows for v in row if v not in (True, 1)}
        assert str(b.account_id) not in values, query
        assert values <= mine, (query, rows)
    leads = await analysts.rows(a, "SELECT DISTINCT lead_id FROM email_events")
    assert {r[0] for r in leads} == {str(lead) for lead in a.lead_ids}
    steps = await analysts.rows(a, "SELECT lead_id, steps FROM lead_steps FINAL")
    assert {r[0] for r in steps} == {str(lead) for lead in a.lead_ids}
    assert all(r[1] > 0 for r in steps)  # each lead has an event that sets a step


SCOPE_REFUSED = [
    ("SELECT * FROM system.tables", "without a database"),
    ("SELECT * FROM system.query_log", "without a database"),
    ("SELECT * FROM default.email_events", "without a database"),
    ("SELECT * FROM information_schema.tables", "without a database"),
    ("SELECT * FROM schema_migrations", "cannot be read"),
    ("SELECT * FROM lead_status_mv", "cannot be read"),
    ("SELECT * FROM merge(currentDatabase(), '^email')", "table function merge()"),
    ("SELECT * FROM file('{out}', 'LineAsString')", "table function file()"),
    ("SELECT * FROM remote('127.0.0.1', default.email_events)", "table function remote()"),
    ("SELECT * FROM email_events WHERE lead_id IN lead_status", "IN <table name>"),
    (
        "WITH lead_status_mv AS (SELECT 1) SELECT * FROM (SELECT * FROM lead_status_mv)",
        "is the name of a table",
    ),
    (
        "WITH email_events AS (SELECT * FROM email_events) SELECT * FROM email_events",
        "is the name of a table",
    ),
    ("SELECT joinGet('default.email_events', 'email', 1)", "function joinget()"),
    ("SHOW TABLES", "one SELECT"),
    ("EXPLAIN SELECT * FROM email_events", "one SELECT"),
    ("DESCRIBE TABLE system.tables", "DESCRIBE is allowed of email_events"),
    ("SELECT 1 INTO OUTFILE '{out}'", "INTO OUTFILE"),
    ("KILL QUERY WHERE 1", "KILL QUERY is not allowed"),
]


REFUSED = [("operators", q, why) for q, why in FORBIDDEN]
REFUSED += [("account", q, why) for q, why in SCOPE_REFUSED]


@pytest.mark.parametrize(("who", "query", "why"), REFUSED, ids=[f"{w}: {q}" for w, q, _ in REFUSED])
async def test_run_sql_refused_naming_why_and_nothing_written(
    analysts: Analysts, who: str, query: str, why: str
) -> None:
    """Operators' forbidden forms, and an account's reaching beyond its rows."""
    sql = query.format(out=analysts.outfile)
    response = await (
        analysts.admin(sql) if who == "operators" else analysts.account(analysts.a, sql)
    )
    _refused(response, why)
    assert not analysts.outfile.exists()
    count = await analysts.admin("SELECT count() FROM email_events")
    assert count.json()["rows"] == [[10]]


async def test_run_account_sql_needs_an_api_key_before_the_body(analysts: Analysts) -> None:
    response = await analysts.client.post("/reports/sql", json={"query": "SELECT 1"})
    assert response.status_code == 401
    wrong = {"Authorization": f"Bearer {analysts.a.api_key}x"}
    response = await analysts.client.post("/reports/sql", json={"query": "SELECT 1"}, headers=wrong)
    assert response.status_code == 401


async def test_run_account_sql_describe_and_row_makers(analysts: Analysts) -> None:
    columns = await analysts.rows(analysts.a, "DESCRIBE email_events")
    assert columns[1][:2] == ["account_id", "UUID"]
    assert await analysts.rows(analysts.a, "SELECT count() FROM numbers(7)") == [[7]]
    other = f"SELECT count() FROM email_events WHERE account_id = '{analysts.b.account_id}'"
    assert await analysts.rows(analysts.a, other) == [[0]]
