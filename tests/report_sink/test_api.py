"""The reports API on a small known data set; scoping; the analysts' SQL endpoint."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from structlog.testing import capture_logs

from services.report_sink.config import Settings
from services.report_sink.main import create_app, open_clickhouse
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.auth import NOT_BEARER
from shared.contracts.events import EmailEvent, EventType
from shared.settings import CommonSettings
from tests import factories
from tests.events import event
from tests.report_sink.helpers import T0, Tenant, make_tenant, summarise

pytestmark = [pytest.mark.postgres, pytest.mark.clickhouse]

ADMIN = "test-admin-token"
BODY_LIMIT = 4096
S, D, OP, C, B, X = (EventType.SENT, EventType.DELIVERED, EventType.OPENED, EventType.CLICKED,
                    EventType.BOUNCED, EventType.EXCLUDED)  # fmt: skip


def _at(seconds: int) -> Any:
    return T0 + timedelta(seconds=seconds)


def _data_set(t: Tenant, other_campaign: uuid.UUID) -> list[EmailEvent]:
    a, c = t.account_id, t.campaign_id
    leads = t.lead_ids
    email = [f"lead{n}@d{n % 3}.example.com" for n in range(len(leads))]

    def ev(n: int, kind: EventType, sec: int, **kw: Any) -> EmailEvent:
        return event(a, c, leads[n], kind, _at(sec), email=email[n], **kw)

    return [
        ev(0, S, 1), ev(0, D, 61), ev(0, OP, 200), ev(0, C, 260),
        ev(1, S, 2), ev(1, D, 62), ev(1, OP, 300),
        ev(2, S, 3), ev(2, B, 70, bounce_type="hard", reason="550 user unknown"),
        ev(3, S, 64), ev(3, B, 90, bounce_type="soft", reason="mailbox full"),
        ev(4, S, 65), ev(4, D, 80), ev(4, EventType.COMPLAINED, 400),
        ev(5, EventType.FAILED, 66, reason='invalid, "quoted"\nrecipient'),
        ev(6, EventType.SUPPRESSED, 0),
        ev(7, X, 0, reason="suppressed"), ev(8, X, 0, reason="unsubscribed"),
        ev(9, X, 0, reason="invalid_email"),
        # the same lead 0 in another campaign of the account, a day later
        event(a, other_campaign, leads[0], S, _at(86_400), email=email[0]),
    ]  # fmt: skip


@pytest.fixture
async def world(
    pool: asyncpg.Pool, base_settings: CommonSettings, pg_dsn: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Tenant, Tenant, uuid.UUID]]:
    """An app on a fresh chDB folder with tenant A's data set; tenant B has nothing."""
    common = base_settings.model_copy(update={"database_url": pg_dsn, "home": tmp_path})
    settings = Settings(common=common, sql_max_rows=5, csv_chunk_rows=3, max_body_bytes=BODY_LIMIT)
    writer, reader, analyst = open_clickhouse(settings)
    try:
        await migrate(writer)
        a = await make_tenant(pool, leads=10, matched=10)
        b = await make_tenant(pool, leads=1)
        other = await factories.campaign(pool, a.account_id, name="December")
        events = _data_set(a, other)
        body = b"\n".join(orjson.dumps(e.model_dump(mode="json")) for e in events)
        await EventWriter(writer).insert(body, "first")
        await EventWriter(writer).insert(body, "second")  # a redelivered copy, another token
        await summarise(writer)
        app = create_app(settings, reader=reader, analyst=analyst, pool=pool, admin_token=ADMIN)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, a, b, other
    finally:
        for ch in (analyst, reader, writer):
            ch.close()


World = tuple[httpx.AsyncClient, Tenant, Tenant, uuid.UUID]


async def _report(client: httpx.AsyncClient, tenant: Tenant, path: str) -> Any:
    """The 200 answer of `GET /reports/campaigns/<tenant's campaign>/<path>`, as tenant."""
    r = await client.get(f"/reports/campaigns/{tenant.campaign_id}/{path}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_get_funnel(world: World) -> None:
    client, a, _, _ = world
    body = await _report(client, a, "funnel")
    assert body["matched"] == 10
    assert body["counts"] == {
        "sent": 5, "failed": 1, "suppressed": 1, "cancelled": 0, "excluded": 3,
        "excluded_suppressed": 1, "excluded_unsubscribed": 1, "excluded_invalid_email": 1,
        "excluded_duplicate": 0, "delivered": 3,
        "bounced": 2, "bounced_hard": 1, "bounced_soft": 1, "complained": 1,
        "opened": 2, "clicked": 1, "unsubscribed": 0,
    }  # fmt: skip
    counts = body["counts"]  # every matched lead is accounted once
    outcomes = ("sent", "failed", "suppressed", "cancelled", "excluded")
    assert sum(counts[k] for k in outcomes) == body["matched"]
    assert body["rates"]["delivery_rate"] == 0.6
    assert body["rates"]["click_to_open_rate"] == 0.5
    assert body["rates"]["unsubscribe_rate"] == 0.0


async def test_list_recipients_paginated_and_filtered(world: World) -> None:
    client, a, _, _ = world
    url = f"/reports/campaigns/{a.campaign_id}/recipients"
    seen: dict[str, str] = {}
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=params, headers=a.headers)
        assert r.status_code == 200, r.text
        pages += 1
        seen.update({i["lead_id"]: i["status"] for i in r.json()["items"]})
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == 10
    assert sorted(seen.values()) == sorted(
        ["clicked", "opened", "bounced", "bounced", "complained", "failed", "suppressed"]
        + ["excluded"] * 3
    )
    r = await client.get(url, params={"status": "bounced"}, headers=a.headers)
    items = r.json()["items"]
    assert {i["lead_id"] for i in items} == {str(a.lead_ids[2]), str(a.lead_ids[3])}
    assert {i["bounce_type"] for i in items} == {"hard", "soft"}
    r = await client.get(url, params={"status": "nonsense"}, headers=a.headers)
    assert r.status_code == 422 and "status" in r.text
    r = await client.get(url, params={"status": "excluded"}, headers=a.headers)
    assert {(i["lead_id"], i["reason"]) for i in r.json()["items"]} == {
        (str(a.lead_ids[7]), "suppressed"),
        (str(a.lead_ids[8]), "unsubscribed"),
        (str(a.lead_ids[9]), "invalid_email"),
    }
    r = await client.get(url, params={"cursor": "nope"}, headers=a.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


async def test_export_recipients_csv(world: World) -> None:
    client, a, _, _ = world
    url = f"/reports/campaigns/{a.campaign_id}/recipients.csv"
    r = await client.get(url, headers=a.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 10  # four keyset chunks of 3, 3, 3 and 1 rows
    assert len({row["lead_id"] for row in rows}) == 10
    by_lead = {row["lead_id"]: row for row in rows}
    hard = by_lead[str(a.lead_ids[2])]
    assert (hard["status"], hard["bounce_type"], hard["reason"]) == (
        "bounced", "hard", "550 user unknown"
    )  # fmt: skip
    assert hard["status_at"] == "2026-11-23T10:01:10.000Z"
    assert by_lead[str(a.lead_ids[5])]["reason"] == 'invalid, "quoted" recipient'
    r = await client.get(url, params={"status": "complained"}, headers=a.headers)
    assert [row["lead_id"] for row in csv.DictReader(io.StringIO(r.text))] == [str(a.lead_ids[4])]


async def test_get_lead_history_across_campaigns(world: World) -> None:
    client, a, _, other = world
    r = await client.get(f"/reports/leads/{a.lead_ids[0]}/history", headers=a.headers)
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert [e["type"] for e in events] == ["sent", "delivered", "opened", "clicked", "sent"]
    assert events[-1]["campaign_id"] == str(other)
    assert events[0]["occurred_at"] == "2026-11-23T10:00:01Z"


async def test_get_bounces_exclusions_and_timeline(world: World) -> None:
    client, a, _, _ = world
    body = await _report(client, a, "bounces")
    assert body["total"] == 2
    assert {x["value"]: x["leads"] for x in body["by_type"]} == {"hard": 1, "soft": 1}
    assert {x["value"] for x in body["by_reason"]} == {"550 user unknown", "mailbox full"}
    assert {x["value"]: x["leads"] for x in body["by_domain"]} == {
        "d2.example.com": 1, "d0.example.com": 1
    }  # fmt: skip
    body = await _report(client, a, "exclusions")
    assert body["total"] == 3
    assert {x["value"]: x["leads"] for x in body["by_reason"]} == {
        "suppressed": 1, "unsubscribed": 1, "invalid_email": 1
    }  # fmt: skip
    assert sum(x["leads"] for x in body["by_domain"]) == 3
    r = await client.get(f"/reports/campaigns/{a.campaign_id}/timeline", headers=a.headers)
    minutes = r.json()["minutes"]
    assert [(m["minute"], m["sent"], m["failed"]) for m in minutes] == [
        ("2026-11-23T10:00:00Z", 3, 0),
        ("2026-11-23T10:01:00Z", 2, 1),
    ]


async def test_get_activity_per_minute(world: World) -> None:
    client, a, _, _ = world
    minutes = (await _report(client, a, "activity"))["minutes"]
    got = {m["minute"][11:16]: {k: v for k, v in m.items() if k != "minute" and v} for m in minutes}
    assert got == {  # from the data set: each event at its minute, a lead once per minute
        "10:01": {"delivered": 3, "bounced": 2},
        "10:03": {"opened": 1},
        "10:04": {"clicked": 1},
        "10:05": {"opened": 1},
        "10:06": {"complained": 1},
    }


async def test_list_campaigns_with_headlines(world: World) -> None:
    client, a, _, other = world
    r = await client.get("/reports/campaigns", headers=a.headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["campaign_id"] for i in items] == [str(other), str(a.campaign_id)]
    first = items[1]
    assert (first["name"], first["sent"], first["delivered"], first["bounced"]) == (
        "November", 5, 3, 2
    )  # fmt: skip
    params = {"since": "2026-11-24T00:00:00Z"}
    r = await client.get("/reports/campaigns", params=params, headers=a.headers)
    assert [i["campaign_id"] for i in r.json()["items"]] == [str(other)]
    r = await client.get("/reports/campaigns", params={"since": "2026-11-24T00:00:00"},
                         headers=a.headers)  # fmt: skip
    assert r.status_code == 422
    assert r.json()["detail"] == "query.since: give a time zone (e.g. Z)"


@pytest.mark.parametrize(
    ("since", "until", "found"),
    [
        ("0163-09-17T19:08:18Z", None, 2),  # before ClickHouse's DateTime: from its start
        ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59Z", 2),
        (None, "0032-02-02T00:00:01Z", 0),
        ("9999-01-01T00:00:00-01:00", None, 0),  # past its end: nothing yet
    ],
)
async def test_list_campaigns_window_beyond_the_engines_dates(
    world: World, since: str | None, until: str | None, found: int
) -> None:
    client, a, _, _ = world
    params = {k: v for k, v in (("since", since), ("until", until)) if v is not None}
    r = await client.get("/reports/campaigns", params=params, headers=a.headers)
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == found


async def test_read_other_accounts_reports_not_found(world: World) -> None:
    client, a, b, _ = world
    paths = [
        f"/reports/campaigns/{a.campaign_id}/{p}"
        for p in (
            "funnel",
            "recipients",
            "recipients.csv",
            "bounces",
            "exclusions",
            "timeline",
            "activity",
        )  # fmt: skip
    ] + [f"/reports/leads/{a.lead_ids[0]}/history"]
    for path in paths:
        theirs = await client.get(path, headers=b.headers)
        missing = await client.get(path.replace(str(a.campaign_id), str(uuid.uuid4())).replace(
            str(a.lead_ids[0]), str(uuid.uuid4())), headers=b.headers)  # fmt: skip
        assert theirs.status_code == missing.status_code == 404, path
        assert theirs.json() == missing.json()
        assert theirs.headers["content-type"] == "application/problem+json"
    r = await client.get("/reports/campaigns", headers=b.headers)
    assert r.json()["items"] == []
    assert (await client.get(paths[0])).status_code == 401


async def test_run_sql_read_only_with_admin_token(world: World) -> None:
    client, _, _, _ = world
    url = "/internal/sql"
    query = {"query": "SELECT type, uniqExact(event_id) AS n FROM email_events "
             "WHERE type IN ('bounced', 'sent') GROUP BY type ORDER BY type"}  # fmt: skip
    assert (await client.post(url, json=query)).status_code == 401
    wrong = {"X-Fanout-Admin-Token": "wrong"}
    assert (await client.post(url, json=query, headers=wrong)).status_code == 401
    admin = {"X-Fanout-Admin-Token": ADMIN}
    r = await client.post(url, json=query, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["type", "n"]
    assert body["rows"] == [["bounced", 2], ["sent", 6]]
    r = await client.post(url, json={"query": "SELECT number FROM numbers(100)"}, headers=admin)
    assert r.status_code == 400 and "max rows" in r.json()["detail"]  # never silently cut
    for write in ("DROP TABLE email_events", "INSERT INTO schema_migrations (version) VALUES (9)",
                  "SELECT 1 SETTINGS readonly = 0",
                  "SELECT * FROM file('/etc/hostname', 'LineAsString')"):  # fmt: skip
        r = await client.post(url, json={"query": write}, headers=admin)
        assert r.status_code == 400 and "not allowed" in r.json()["detail"], write
    r = await client.post(url, json={"query": "SELECT count() FROM email_events"}, headers=admin)
    assert r.json()["rows"] == [[40]]  # both copies still there: nothing was written


GENERIC_401 = {
    "type": "about:blank",
    "title": "Unauthorized",
    "status": 401,
    "detail": "missing or invalid credentials",
}


async def test_every_401_is_a_problem_with_the_reason_logged(world: World) -> None:
    client, a, _, _ = world
    funnel, sql = f"/reports/campaigns/{a.campaign_id}/funnel", "/internal/sql"
    query = {"query": "SELECT 1"}
    bearer, admin = "Bearer", "X-Fanout-Admin-Token"
    cases = [
        ("GET", funnel, {}, "missing", bearer),
        ("GET", funnel, {"Authorization": a.api_key}, "not a Bearer token", bearer),
        ("GET", funnel, {"Authorization": f"Bearer {a.api_key}x"}, "unknown key", bearer),
        ("POST", sql, {}, "missing admin token", admin),
        ("POST", sql, {admin: ADMIN + "x"}, "wrong admin token", admin),
    ]
    for method, url, headers, reason, challenge in cases:
        with capture_logs() as logs:
            r = await client.request(method, url, headers=headers, json=query)
        # a header that is no Bearer credential is told so; every key problem is alike
        not_bearer = reason == "not a Bearer token"
        body = {**GENERIC_401, "detail": NOT_BEARER} if not_bearer else GENERIC_401
        assert (r.status_code, r.json()) == (401, body), reason
        assert r.headers["www-authenticate"] == challenge
        assert [e["reason"] for e in logs if e["event"] == "auth.refused"] == [reason]
        assert a.api_key not in str(logs) and ADMIN not in str(logs)


class Chunks:
    """A streamed body (no Content-Length) that records how many chunks were pulled."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.size // 1024):
            self.pulled += 1
            yield b" " * 1024


async def test_run_sql_checks_token_and_size_before_reading_the_body(world: World) -> None:
    client, _, _, _ = world
    url, admin = "/internal/sql", {"X-Fanout-Admin-Token": ADMIN}
    stranger = Chunks(BODY_LIMIT * 4)
    r = await client.post(url, content=stranger, headers={"content-type": "application/json"})
    assert r.status_code == 401 and stranger.pulled == 0
    assert r.json()["detail"] == "missing or invalid credentials"
    declared = Chunks(BODY_LIMIT * 4)
    r = await client.post(url, content=declared, headers={"content-length": str(BODY_LIMIT * 4)})
    assert r.status_code == 413 and declared.pulled == declared.size // 1024  # dropped, unparsed
    assert r.headers["content-type"] == "application/problem+json"
    streamed = Chunks(BODY_LIMIT * 4)
    r = await client.post(url, content=streamed, headers=admin)
    assert r.status_code == 413 and streamed.pulled == streamed.size // 1024
    r = await client.post(url, json={"query": ""}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "query"]


async def test_document_reports_in_openapi(world: World) -> None:
    client, _, _, _ = world
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/reports/campaigns",
        "/reports/campaigns/{campaign_id}/funnel",
        "/reports/campaigns/{campaign_id}/recipients",
        "/reports/campaigns/{campaign_id}/recipients.csv",
        "/reports/campaigns/{campaign_id}/bounces",
        "/reports/campaigns/{campaign_id}/exclusions",
        "/reports/campaigns/{campaign_id}/timeline",
        "/reports/leads/{lead_id}/history",
        "/internal/sql",
    ):
        operation = next(iter(paths[path].values()))
        assert operation["description"], path
    sql = paths["/internal/sql"]["post"]
    assert sql["requestBody"]["content"]["application/json"]["schema"]["required"] == ["query"]
    assert {"400", "401", "413", "422"} <= set(sql["responses"])
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    funnel = spec["components"]["schemas"]["FunnelCounts"]["properties"]["sent"]
    assert funnel["examples"] == [9800]
