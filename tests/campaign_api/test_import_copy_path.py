"""A first import's rows go by COPY straight into `leads`; a repeated address, or one another
writer made meanwhile, goes through the upsert, with the same result as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from uuid import UUID

import asyncpg
import orjson
import pytest
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st

from services.campaign_api.leads import importer
from services.campaign_api.leads.fields import LeadRecord
from services.campaign_api.leads.importer import OnConflict, import_leads
from services.campaign_api.leads.parsing import ImportFormat
from shared.migrations.postgres import alembic_config, upgrade_async
from tests.campaign_api.conftest import Tenant

HEADER = b"email,first_name,last_name\n"
CSV = ImportFormat.CSV


def _record(email: str) -> LeadRecord:
    return (email, None, None, None, None, None)


async def _lines(
    lines: list[bytes], between: dict[int, Awaitable[object]] | None = None
) -> AsyncIterator[bytes]:
    """The file a line at a time; `between[k]` is awaited before line k."""
    yield HEADER
    for number, line in enumerate(lines):
        if between and number in between:
            await between[number]
        yield line


async def _leads(pool: asyncpg.Pool, account: UUID) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch("SELECT * FROM leads WHERE account_id = $1", account)
    return {row["email"]: row for row in rows}


@pytest.mark.postgres
async def test_a_first_import_copies_its_rows_and_merges_repeats(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    lines = [f"u{i}@x.com,U{i},Last{i}\n".encode() for i in range(30)]
    lines += [b"u3@x.com,Again,\n", b"u20@x.com,,Later\n"]  # chunks after their first rows
    report = await import_leads(
        pool, tenant.account_id, _lines(lines), ImportFormat.CSV, chunk_rows=7
    )
    assert (report.created, report.updated, report.skipped, report.accepted) == (30, 0, 0, 32)
    leads = await _leads(pool, tenant.account_id)
    assert len(leads) == 30
    # the upsert merged the repeats into the leads the COPY made: blanks keep, values win
    assert (leads["u3@x.com"]["first_name"], leads["u3@x.com"]["last_name"]) == ("Again", "Last3")
    assert (leads["u20@x.com"]["first_name"], leads["u20@x.com"]["last_name"]) == ("U20", "Later")
    assert leads["u0@x.com"]["tags"] == [] and leads["u0@x.com"]["attributes"] == "{}"


@pytest.mark.postgres
async def test_the_copy_fills_the_attribute_keys_catalogue(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    data = [b"a@x.com,A,,pro,3\n", b"b@x.com,B,,free,\n"]
    header = b"email,first_name,last_name,plan,seats\n"

    async def chunks() -> AsyncIterator[bytes]:
        yield header
        for line in data:
            yield line

    report = await import_leads(pool, tenant.account_id, chunks(), ImportFormat.CSV)
    assert report.created == 2
    keys = await pool.fetch(
        "SELECT DISTINCT key, json_type FROM lead_attribute_keys WHERE account_id = $1",
        tenant.account_id,
    )
    assert {(row["key"], row["json_type"]) for row in keys} == {
        ("plan", "string"),
        ("seats", "number"),
    }


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("on_conflict", "counts", "name"),
    [(OnConflict.UPDATE, (5, 1, 0), "FromImport"), (OnConflict.SKIP, (5, 0, 1), "Other")],
)
async def test_a_lead_written_meanwhile_sends_the_rest_through_the_upsert(
    tenant: Tenant,
    pool: asyncpg.Pool,
    on_conflict: OnConflict,
    counts: tuple[int, int, int],
    name: str,
) -> None:
    """Another writer commits `c4@x.com` after the import began (its account had no leads):
    the chunk holding it fails its COPY, is rolled back to its savepoint and upserted."""
    lines = [f"c{i}@x.com,FromImport,L{i}\n".encode() for i in range(6)]
    other = pool.execute(
        "INSERT INTO leads (account_id, email, first_name) VALUES ($1, 'c4@x.com', 'Other')",
        tenant.account_id,
    )
    report = await import_leads(
        pool,
        tenant.account_id,
        _lines(lines, between={3: other}),
        ImportFormat.CSV,
        chunk_rows=2,
        on_conflict=on_conflict,
    )
    assert (report.created, report.updated, report.skipped) == counts
    leads = await _leads(pool, tenant.account_id)
    assert sorted(leads) == [f"c{i}@x.com" for i in range(6)]
    assert leads["c4@x.com"]["first_name"] == name
    assert {leads[f"c{i}@x.com"]["last_name"] for i in (0, 1, 2, 3, 5)} == {
        "L0",
        "L1",
        "L2",
        "L3",
        "L5",
    }


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the COPYs straight into `leads`, as they are made."""
    made: list[int] = []
    original = importer._copy_new  # noqa: SLF001 - counted, not replaced

    async def counted(conn: asyncpg.Connection, rows: list[importer.LeadRow]) -> bool:
        made.append(len(rows))
        return await original(conn, rows)

    monkeypatch.setattr(importer, "_copy_new", counted)
    return made


@pytest.mark.postgres
async def test_a_first_import_goes_by_copy(
    tenant: Tenant, pool: asyncpg.Pool, copies: list[int]
) -> None:
    lines = [f"f{i}@x.com,F,\n".encode() for i in range(10)] + [b"f1@x.com,Again,\n"]
    report = await import_leads(pool, tenant.account_id, _lines(lines), CSV, chunk_rows=4)
    assert copies == [4, 4, 2]  # the repeat of f1 (in the third chunk) took the upsert
    assert report.created == 10
    assert (await _leads(pool, tenant.account_id))["f1@x.com"]["first_name"] == "Again"


@pytest.mark.postgres
async def test_past_its_savepoints_an_import_takes_the_upsert(
    tenant: Tenant, pool: asyncpg.Pool, copies: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each COPY is a subtransaction: an import takes at most `MAX_COPIES` of them, so a
    long one never overflows Postgres's cache of a transaction's subtransaction ids."""
    monkeypatch.setattr(importer._Direct, "MAX_COPIES", 2)  # noqa: SLF001
    lines = [f"s{i}@x.com,S{i},\n".encode() for i in range(9)] + [b"s0@x.com,,Last\n"]
    report = await import_leads(pool, tenant.account_id, _lines(lines), CSV, chunk_rows=3)
    assert copies == [3, 3]
    assert (report.created, report.updated, report.skipped) == (9, 0, 0)
    leads = await _leads(pool, tenant.account_id)
    assert len(leads) == 9
    assert (leads["s0@x.com"]["first_name"], leads["s0@x.com"]["last_name"]) == ("S0", "Last")


@pytest.mark.postgres
async def test_rows_the_filter_sends_to_the_upsert_keep_the_ids_in_file_order(
    tenant: Tenant, pool: asyncpg.Pool, copies: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A false positive of the filter takes the upsert, with an id made with the chunk's
    (after its COPY rows'): the leads' ids follow the file, so the indexes on the id grow
    at their right edge."""

    def every_third_again(
        self: importer._Written,  # noqa: ARG001
        records: list[LeadRecord],
    ) -> tuple[list[LeadRecord], list[LeadRecord]]:
        return [r for r in records if r[0][1] != "0"], [r for r in records if r[0][1] == "0"]

    monkeypatch.setattr(importer._Written, "split", every_third_again)  # noqa: SLF001
    lines = [f"r{i % 3}-{i}@x.com,{i},\n".encode() for i in range(30)]
    report = await import_leads(pool, tenant.account_id, _lines(lines), CSV, chunk_rows=10)
    assert copies == [6, 7, 7]  # r0-… addresses went through the upsert
    assert report.created == 30
    in_id_order = await pool.fetch(
        "SELECT first_name FROM leads WHERE account_id = $1 ORDER BY id", tenant.account_id
    )
    by_chunk = [sorted(range(k, k + 10), key=lambda i: (i % 3 == 0, i)) for k in (0, 10, 20)]
    assert [int(row["first_name"]) for row in in_id_order] == sum(by_chunk, [])


@pytest.mark.postgres
async def test_an_account_with_leads_imports_through_the_upsert(
    tenant: Tenant, pool: asyncpg.Pool, copies: list[int]
) -> None:
    await pool.execute(
        "INSERT INTO leads (account_id, email, first_name) VALUES ($1, 'old@x.com', 'Old')",
        tenant.account_id,
    )
    report = await import_leads(
        pool, tenant.account_id, _lines([b"old@x.com,,New\n", b"n@x.com,N,\n"]), CSV
    )
    assert copies == []
    assert (report.created, report.updated) == (1, 1)
    assert (await _leads(pool, tenant.account_id))["old@x.com"]["last_name"] == "New"


class _Small(importer._Written):  # noqa: SLF001
    FIRST_CAPACITY = 16
    MAX_ADDRESSES = 400


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 300).map(lambda n: f"a{n}@x.com"), max_size=60, unique=True),
        max_size=12,
    )
)
def test_written_addresses_never_pass_for_new(chunks: list[list[str]]) -> None:
    """Whatever the chunks, an address routed to the COPY once is never routed there again
    (no false negatives across the filters' growth), and past the cap nothing is."""
    written = _Small()
    copied: set[str] = set()
    for emails in chunks:
        fresh, again = written.split([_record(email) for email in emails])
        assert sorted(r[0] for r in fresh + again) == sorted(emails)
        assert not copied & {r[0] for r in fresh}
        if written.total + len(emails) > _Small.MAX_ADDRESSES:
            assert fresh == []
        written.add(fresh)
        copied |= {r[0] for r in fresh}
    assert written.total == len(copied) <= _Small.MAX_ADDRESSES


def test_ids_rise_version_7_under_a_pinned_clock() -> None:
    """A clock that stands still (and one that goes back) still gives rising ids: past 4,096
    in a millisecond the counter carries into the millisecond, as RFC 9562 allows."""
    times = iter([1_700_000_000_123_456_789] * 2 + [1_700_000_000_000_000_000])
    ids = importer._Ids(clock=lambda: next(times))  # noqa: SLF001
    made = [UUID(text) for text in ids.take(5_000) + ids.take(3) + ids.take(10)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert {u.version for u in made} == {7} and {u.variant for u in made} == {
        "specified in RFC 4122"
    }
    milliseconds = [u.int >> 80 for u in made]
    assert milliseconds[0] == 1_700_000_000_123
    assert milliseconds[4_095] == 1_700_000_000_123 and milliseconds[4_096] == 1_700_000_000_124
    # the clock read the same, then went back: the ids went on from where they were
    assert milliseconds[-1] == 1_700_000_000_124
    assert [(u.int >> 64) & 0xFFF for u in made[-13:]] == list(range(904, 917))


def test_ids_follow_the_clock_when_it_moves_on() -> None:
    times = iter([5_000_000, 9_000_000])
    ids = importer._Ids(clock=lambda: next(times))  # noqa: SLF001
    first, second = UUID(ids.take(1)[0]), UUID(ids.take(1)[0])
    assert (first.int >> 80, second.int >> 80) == (5, 9)
    assert (first.int >> 64) & 0xFFF == 0 and (second.int >> 64) & 0xFFF == 0  # counter reset


TYPED_JSONL = b"".join(
    orjson.dumps({"email": f"t{i}@x.com", "attributes": attributes}) + b"\n"
    for i, attributes in enumerate(
        [
            {"s": "x", "n": 1, "f": -2.5, "b": True, "z": None},
            {"o": {"deep": [1, {"x": None}]}, "a": [], "big": 2**62, "b2": False},
            {"s": 3, "n": "3", "o": [1], "a": {}},  # the same keys with other types
            {},
        ]
    )
)
CATALOGUE = "SELECT key, json_type FROM lead_attribute_keys WHERE account_id = $1"
AS_TRIGGER_READS = """
SELECT DISTINCT e.key, jsonb_typeof(e.value) AS json_type
FROM leads l, jsonb_each(l.attributes) e WHERE l.account_id = $1
"""


@pytest.mark.postgres
@pytest.mark.parametrize("had_leads", [False, True], ids=["copy", "upsert"])
async def test_the_import_notes_the_keys_as_the_trigger_reads_them(
    tenant: Tenant, pool: asyncpg.Pool, had_leads: bool
) -> None:
    """The importer writes the catalogue itself (migration 0019): the same pairs as
    `jsonb_each` and `jsonb_typeof` give for the leads it wrote, each once."""
    if had_leads:
        await pool.execute(
            "INSERT INTO leads (account_id, email) VALUES ($1, 'first@x.com')", tenant.account_id
        )

    async def chunks() -> AsyncIterator[bytes]:
        yield TYPED_JSONL

    await import_leads(pool, tenant.account_id, chunks(), ImportFormat.JSONL, chunk_rows=2)
    catalogue = [tuple(row) for row in await pool.fetch(CATALOGUE, tenant.account_id)]
    expected = {tuple(row) for row in await pool.fetch(AS_TRIGGER_READS, tenant.account_id)}
    assert len(expected) == 13
    assert sorted(catalogue) == sorted(expected)  # and no pair twice


@pytest.mark.postgres
async def test_other_writers_still_fill_the_catalogue_in_the_same_database(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    """The importer's mark is its transaction's only: a plain insert after it is read by
    the trigger as before."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "i@x.com", "attributes": {"plan": "pro"}}\n'

    await import_leads(pool, tenant.account_id, chunks(), ImportFormat.JSONL)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO leads (account_id, email, attributes) "
            """VALUES ($1, 'w@x.com', '{"seats": 4}')""",
            tenant.account_id,
        )
    pairs = {tuple(row) for row in await pool.fetch(CATALOGUE, tenant.account_id)}
    assert pairs == {("plan", "string"), ("seats", "number")}


@pytest.mark.postgres
async def test_the_mark_leaves_the_trigger_out_and_the_downgrade_brings_it_back(
    empty_dsn: str,
) -> None:
    await upgrade_async(empty_dsn, "0019_attribute_keys_noted")
    conn = await asyncpg.connect(empty_dsn)
    try:
        account = await conn.fetchval("INSERT INTO accounts (name) VALUES ('a') RETURNING id")
        insert = "INSERT INTO leads (account_id, email, attributes) VALUES ($1, $2, $3::jsonb)"
        async with conn.transaction():
            await conn.execute("SELECT set_config('fanout.attribute_keys_noted', 'on', true)")
            await conn.execute(insert, account, "m@x.com", '{"marked": 1}')
        await conn.execute(insert, account, "u@x.com", '{"unmarked": 1}')
        await asyncio.to_thread(command.downgrade, alembic_config(empty_dsn), "0018")
        async with conn.transaction():
            await conn.execute("SELECT set_config('fanout.attribute_keys_noted', 'on', true)")
            await conn.execute(insert, account, "d@x.com", '{"after_downgrade": 1}')
        keys = await conn.fetch(
            "SELECT key FROM lead_attribute_keys WHERE account_id = $1", account
        )
        assert sorted(row["key"] for row in keys) == ["after_downgrade", "unmarked"]
    finally:
        await conn.close()
