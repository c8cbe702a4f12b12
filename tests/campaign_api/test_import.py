"""Bulk lead import: CSV and JSON Lines, mixed valid/invalid rows, all-or-nothing structure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from services.campaign_api.config import Settings
from services.campaign_api.leads.importer import OnConflict, import_leads
from services.campaign_api.leads.parsing import ImportFormat
from services.campaign_api.leads.rows import ImportFormatError
from services.campaign_api.main import create_app
from shared.settings import CommonSettings
from tests.campaign_api.conftest import Tenant, TenantFactory

pytestmark = pytest.mark.postgres

MIXED_CSV = (
    "email,first_name,country,tags,plan,seats\n"  # line 1
    "Ada@Example.COM,Ada,gb,vip;beta,pro,12\n"  # 2 valid
    "not-an-email,Bob,DE,,free,1\n"  # 3 invalid email
    "carol@example.com,Carol,Germany,,free,2\n"  # 4 invalid country
    "dave@example.com,Dave\n"  # 5 wrong field count
    "\n"  # 6 blank: skipped
    '"eve@example.com","Eve ""E""\nSecond line",FR,,team,007\n'  # 7-8 valid, quoted newline
    "frank@example.com,Frank,US,,free,3\n"  # 9 valid
)
MIXED_JSONL = (
    b'{"email": "ada@example.com", "first_name": "Ada", "attributes": {"plan": "pro"}}\n'  # 1
    b"{not json\n"  # 2
    b"\n"  # 3 blank
    b'["an", "array"]\n'  # 4
    b'{"email": "bob@example.com", "colour": "red"}\n'  # 5 unknown field
    b'{"email": "carol@example.com", "tags": ["a", "b"], "country": "de"}'  # 6, no final newline
)


async def _leads(pool: asyncpg.Pool, account: UUID) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch("SELECT * FROM leads WHERE account_id = $1", account)
    return {r["email"]: r for r in rows}


async def test_import_leads_csv_mixed_rows(tenant: Tenant, pool: asyncpg.Pool) -> None:
    response = await tenant.client.post(
        "/leads/import", content=MIXED_CSV.encode(), headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["accepted"], report["created"], report["rejected"]) == (
        6,
        3,
        3,
        3,
    )
    rejected = {r["line"]: r["reason"] for r in report["rejected_rows"]}
    assert sorted(rejected) == [3, 4, 5]
    assert rejected[3].startswith("email:")
    assert rejected[4].startswith("country:")
    assert rejected[5] == "expected 6 fields, got 2"
    leads = await _leads(pool, tenant.account_id)
    assert sorted(leads) == ["ada@example.com", "eve@example.com", "frank@example.com"]
    ada = leads["ada@example.com"]
    assert (ada["first_name"], ada["country"], ada["tags"]) == ("Ada", "GB", ["vip", "beta"])
    assert ada["attributes"] == '{"plan": "pro", "seats": 12}'
    assert leads["eve@example.com"]["first_name"] == 'Eve "E"\nSecond line'
    assert leads["eve@example.com"]["attributes"] == '{"plan": "team", "seats": "007"}'


async def test_import_leads_jsonl_mixed_rows(tenant: Tenant, pool: asyncpg.Pool) -> None:
    response = await tenant.client.post("/leads/import?format=jsonl", content=MIXED_JSONL)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["accepted"], report["rejected"]) == (5, 2, 3)
    rejected = {r["line"]: r["reason"] for r in report["rejected_rows"]}
    assert sorted(rejected) == [2, 4, 5]
    assert rejected[2].startswith("invalid JSON")
    assert rejected[4] == "expected a JSON object"
    assert rejected[5].startswith("colour: unknown field")
    leads = await _leads(pool, tenant.account_id)
    assert sorted(leads) == ["ada@example.com", "carol@example.com"]
    assert leads["carol@example.com"]["country"] == "DE"


async def test_import_leads_bad_header_writes_nothing(tenant: Tenant, pool: asyncpg.Pool) -> None:
    body = b"mail;name\nada@example.com;Ada\n"
    response = await tenant.client.post(
        "/leads/import", content=body, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"].startswith("body line 1: nothing imported:")
    assert "no `email` column" in problem["detail"]
    assert problem["errors"][0]["line"] == 1
    assert await _leads(pool, tenant.account_id) == {}


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_import_leads_late_structural_error_rolls_back(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    good = "".join(f"u{i}@example.com,U{i}\n" for i in range(50)).encode()
    data = b"email,first_name\n" + good + b"bad@example.com,\xff\xfe\n"
    with pytest.raises(ImportFormatError, match="not UTF-8"):
        # chunk_rows=5: several chunks are merged into leads before the bad bytes arrive
        await import_leads(
            pool, tenant.account_id, _chunks(data, 64), ImportFormat.CSV, chunk_rows=5
        )
    assert await _leads(pool, tenant.account_id) == {}


async def test_import_leads_tiny_chunks_keep_line_numbers(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    report = await import_leads(
        pool, tenant.account_id, _chunks(MIXED_CSV.encode(), 1), ImportFormat.CSV, chunk_rows=2
    )
    assert report.accepted == 3
    assert [r.line for r in report.rejected_rows] == [3, 4, 5]
    jsonl = await import_leads(
        pool, tenant.account_id, _chunks(MIXED_JSONL, 7), ImportFormat.JSONL, chunk_rows=1
    )
    assert [r.line for r in jsonl.rejected_rows] == [2, 4, 5]
    assert (jsonl.created, jsonl.updated) == (1, 1)  # carol is new, ada existed


async def test_import_leads_duplicates_last_wins_blank_keeps(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    first = b"email,first_name,last_name,tags\nx@example.com,First,Kept,a\n"
    await import_leads(pool, tenant.account_id, _chunks(first, 1000), ImportFormat.CSV)
    second = b"email,first_name,last_name,tags\nX@example.com,Second,,\nx@EXAMPLE.com,Third,,b;c\n"
    report = await import_leads(pool, tenant.account_id, _chunks(second, 1000), ImportFormat.CSV)
    assert (report.accepted, report.created, report.updated) == (2, 0, 1)
    lead = (await _leads(pool, tenant.account_id))["x@example.com"]
    assert (lead["first_name"], lead["last_name"], lead["tags"]) == ("Third", "Kept", ["b", "c"])


async def test_import_leads_caps_listed_rejections(tenant: Tenant, pool: asyncpg.Pool) -> None:
    data = b"email\n" + b"nope\n" * 250
    report = await import_leads(pool, tenant.account_id, _chunks(data, 100), ImportFormat.CSV)
    assert report.rejected == 250
    assert len(report.rejected_rows) == 100
    assert report.rejected_rows[-1].line == 101


async def test_import_leads_unknown_media_type_is_415(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/leads/import", content=b"x", headers={"content-type": "application/pdf"}
    )
    assert response.status_code == 415
    assert "got application/pdf" in response.json()["detail"]


async def test_import_leads_over_size_limit_is_413_and_writes_nothing(
    base_settings: CommonSettings, pg_dsn: str, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    common = base_settings.model_copy(update={"database_url": pg_dsn})
    small = Settings(common=common, max_import_bytes=50_000, import_chunk_rows=10)
    app = create_app(small)
    async with app.router.lifespan_context(app):
        tenant = await make_tenant(app)
        lines = "".join(f"big{i:06d}@example.com\n" for i in range(4000)).encode()

        async def stream() -> AsyncIterator[bytes]:  # chunked: no Content-Length to check
            for start in range(0, len(lines), 8192):
                yield (b"email\n" if start == 0 else b"") + lines[start : start + 8192]

        response = await tenant.client.post(
            "/leads/import", content=stream(), headers={"content-type": "text/csv"}
        )
        assert response.status_code == 413
        assert response.json()["detail"].endswith("limit of 50000 bytes")
        assert await _leads(pool, tenant.account_id) == {}


UPSERT_CSV = b"email,first_name,plan\nold@example.com,Renamed,pro\nnew@example.com,New,free\n"


@pytest.mark.parametrize(
    ("on_conflict", "counts", "old_name"),
    [
        (None, (1, 1, 0), "Renamed"),  # the default is update, as before the option
        ("update", (1, 1, 0), "Renamed"),
        ("skip", (1, 0, 1), "Old"),
    ],
)
async def test_import_leads_on_conflict_counts(
    tenant: Tenant,
    pool: asyncpg.Pool,
    on_conflict: str | None,
    counts: tuple[int, int, int],
    old_name: str,
) -> None:
    await tenant.client.post("/leads", json={"email": "old@example.com", "first_name": "Old"})
    params = {"on_conflict": on_conflict} if on_conflict else {}
    response = await tenant.client.post(
        "/leads/import", content=UPSERT_CSV, params=params, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"], body["skipped"]) == counts
    leads = await _leads(pool, tenant.account_id)
    assert leads["old@example.com"]["first_name"] == old_name
    assert leads["new@example.com"]["first_name"] == "New"


async def test_import_leads_skip_still_merges_rows_of_its_own_new_leads(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    data = b"email,first_name,last_name\na@x.com,A,Kept\nb@x.com,B,\na@x.com,A2,\n"
    report = await import_leads(
        pool,
        tenant.account_id,
        _chunks(data, 1),
        ImportFormat.CSV,
        chunk_rows=1,  # each row its own chunk: the third repeats a lead this import made
        on_conflict=OnConflict.SKIP,
    )
    assert (report.created, report.updated, report.skipped) == (2, 0, 0)
    lead = (await _leads(pool, tenant.account_id))["a@x.com"]
    assert (lead["first_name"], lead["last_name"]) == ("A2", "Kept")


async def test_import_leads_unknown_on_conflict_is_422(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/leads/import",
        content=UPSERT_CSV,
        params={"on_conflict": "replace"},
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "on_conflict"]


async def test_import_leads_csv_without_line_breaks_hints_data_binary(tenant: Tenant) -> None:
    stripped = UPSERT_CSV.replace(b"\n", b"")  # what curl -d @file sends
    response = await tenant.client.post(
        "/leads/import", content=stripped, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422
    assert "curl --data-binary @file" in response.json()["detail"]
    intact = await tenant.client.post(
        "/leads/import", content=b"email,b@d\n", headers={"content-type": "text/csv"}
    )
    assert "--data-binary" not in intact.json()["detail"]  # a bad header, but with breaks


async def test_import_leads_one_huge_line_hints_data_binary(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    huge = b"email," + b"x" * (1024 * 1024 + 10)
    with pytest.raises(ImportFormatError, match="curl --data-binary"):
        await import_leads(pool, tenant.account_id, _chunks(huge, 65536), ImportFormat.CSV)
