"""Schemathesis against the reports API's OpenAPI schema, served by uvicorn: no 5xx.

The app runs on real dependencies: chDB in the test's own folder (migrated, with a
campaign's events in it) and the session's Postgres. Requests carry a real API key and
the admin token; campaign and lead ids are also pinned to the tenant's (`tests/fuzz.py`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg
import orjson
import pytest

from services.report_sink.config import Settings
from services.report_sink.main import create_app, open_clickhouse
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.contracts.events import EventType
from shared.settings import CommonSettings
from tests.events import event
from tests.fuzz import fuzz, serving
from tests.report_sink.helpers import T0, make_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.clickhouse, pytest.mark.slow]

ADMIN = "fuzz-admin-token"
SKIPPED = {"/readyz"}  # asks the broker each time; readiness has tests of its own


async def test_schemathesis_finds_no_server_error(
    pool: asyncpg.Pool, base_settings: CommonSettings, pg_dsn: str, tmp_path: Path
) -> None:
    common = base_settings.model_copy(update={"database_url": pg_dsn, "home": tmp_path})
    settings = Settings(common=common, csv_chunk_rows=2)
    writer, reader, analyst = open_clickhouse(settings)
    try:
        await migrate(writer)
        tenant = await make_tenant(pool, leads=3, matched=3)
        kinds = (EventType.SENT, EventType.DELIVERED, EventType.BOUNCED)
        events = [
            event(
                tenant.account_id,
                tenant.campaign_id,
                lead,
                kind,
                T0 + timedelta(seconds=n),
                bounce_type="hard" if kind is EventType.BOUNCED else None,
            )  # fmt: skip
            for n, (lead, kind) in enumerate(zip(tenant.lead_ids, kinds, strict=True))
        ]
        body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
        await EventWriter(writer).insert(body, "fuzz")
        app = create_app(settings, reader=reader, analyst=analyst, pool=pool, admin_token=ADMIN)
        pinned = {"campaign_id": str(tenant.campaign_id), "lead_id": str(tenant.lead_ids[0])}
        headers = {**tenant.headers, "X-Fanout-Admin-Token": ADMIN}
        async with serving(app) as base_url:
            run = await fuzz(base_url, headers, pinned=pinned, skipped=SKIPPED)
    finally:
        for ch in (analyst, reader, writer):
            ch.close()
    assert run.failures == []
    assert run.sent > 200
    assert run.count(200) > 50  # past validation into the queries
    assert run.statuses[422] > 20
