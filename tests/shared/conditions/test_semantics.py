"""The documented semantics, case by case: SQL and the evaluator give the stated answer.

Three fixed leads cover NULL/missing values, JSON type mismatches, ASCII-only case folding,
LIKE wildcards in values, malformed attribute dates and inclusive date boundaries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shared.conditions import compile_condition, evaluate, parse_condition
from tests import factories
from tests.shared.conditions.stored import INSERT_LEAD, lead_row

pytestmark = pytest.mark.postgres

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
LEADS: dict[str, dict[str, Any]] = {
    "ann": {
        "first_name": "Ann",
        "last_name": None,
        "country": "US",
        "tags": ["vip"],
        "attributes": {"plan": "pro", "score": 10, "active": True, "renewal": "2025-06-01"}
        | {"note": "50%off"},
        "created_at": NOW - timedelta(days=10),
        "unsubscribed_at": None,
    },
    "bob": {
        "first_name": "ÉMILE",
        "last_name": "O'Neil",
        "country": None,
        "tags": [],
        "attributes": {"plan": "free", "score": "10", "active": "true", "renewal": "2023-02-29"}
        | {"nested": {"level": 2}},
        "created_at": NOW - timedelta(days=40),
        "unsubscribed_at": NOW - timedelta(days=1),
    },
    "cy": {
        "first_name": "a_b",
        "last_name": "Smith",
        "country": "DE",
        "tags": ["new", "vip"],
        "attributes": {"score": 2.5, "renewal": "2025-06-10T09:00:00+02:00", "plan": None}
        | {"note": "Fifty_off", "nested": [1]},
        "created_at": NOW - timedelta(days=30),
        "unsubscribed_at": None,
    },
}


def _cmp(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


CASES: list[tuple[dict[str, Any], set[str]]] = [
    (_cmp("country", "eq", "US"), {"ann"}),
    (_cmp("country", "ne", "US"), {"bob", "cy"}),  # NULL country: "ne" matches
    ({"not": _cmp("country", "eq", "US")}, {"bob", "cy"}),
    ({"not": _cmp("country", "in", ["US", "DE"])}, {"bob"}),
    (_cmp("country", "not_in", ["US"]), {"bob", "cy"}),
    (_cmp("last_name", "lt", "S"), {"bob"}),  # code-point order: "O'Neil" < "S"; NULL: no
    ({"not": _cmp("last_name", "lt", "S")}, {"ann", "cy"}),
    (_cmp("attributes.score", "gt", 5), {"ann"}),  # bob's "10" is a string: no match
    (_cmp("attributes.score", "eq", "10"), {"bob"}),
    (_cmp("attributes.score", "in", [2.50, 10]), {"ann", "cy"}),
    ({"not": _cmp("attributes.score", "gte", 3)}, {"bob", "cy"}),
    (_cmp("attributes.plan", "exists", True), {"ann", "bob"}),  # JSON null does not exist
    (_cmp("attributes.plan", "ne", "pro"), {"bob", "cy"}),
    (_cmp("attributes.active", "eq", True), {"ann"}),
    (_cmp("attributes.active", "ne", True), {"bob", "cy"}),
    (_cmp("attributes.nested.level", "eq", 2), {"bob"}),
    (_cmp("attributes.nested.level", "gt", 1), {"bob"}),
    (_cmp("first_name", "starts_with", "Ém"), {"bob"}),
    (_cmp("first_name", "starts_with", "ém"), set()),  # only A-Z fold: É is not é
    (_cmp("first_name", "contains_text", "ILE"), {"bob"}),
    (_cmp("first_name", "starts_with", "A_"), {"cy"}),  # "_" is literal, not a wildcard
    (_cmp("first_name", "starts_with", "A%"), set()),
    (_cmp("attributes.note", "contains_text", "%"), {"ann"}),
    (_cmp("attributes.note", "ends_with", "_OFF"), {"cy"}),
    (_cmp("last_name", "contains_text", "'"), {"bob"}),
    (_cmp("email", "ends_with", "@EXAMPLE.COM"), {"ann", "bob", "cy"}),
    (_cmp("created_at", "within_last", {"days": 30}), {"ann", "cy"}),  # boundary included
    (_cmp("created_at", "before", {"ago": {"days": 30}}), {"bob"}),
    (_cmp("created_at", "gte", "2025-05-16T12:00:00Z"), {"ann", "cy"}),
    (_cmp("attributes.renewal", "before", "2025-06-05"), {"ann"}),  # 2023-02-29 is no date
    (_cmp("attributes.renewal", "after", {"ago": {"days": 10}}), {"cy"}),
    (_cmp("attributes.renewal", "within_last", {"days": 15}), {"ann", "cy"}),
    (_cmp("attributes.renewal", "within_last", {"days": 14}), {"cy"}),  # 06-01 is 00:00Z
    ({"not": _cmp("attributes.renewal", "after", "2000-01-01")}, {"bob"}),
    (_cmp("attributes.renewal", "gt", "2025-06-05"), {"cy"}),  # string order, not dates
    (_cmp("unsubscribed_at", "exists", False), {"ann", "cy"}),
    (_cmp("tags", "contains", "vip"), {"ann", "cy"}),
    (_cmp("tags", "contains_all", ["vip", "new"]), {"cy"}),
    (_cmp("tags", "contains_any", ["new", "x"]), {"cy"}),
    (_cmp("tags", "exists", False), {"bob"}),
    (
        {
            "all": [
                _cmp("tags", "contains", "vip"),
                {"any": [_cmp("country", "eq", "US"), _cmp("attributes.score", "lt", 3)]},
                {"not": _cmp("unsubscribed_at", "exists", True)},
            ]
        },
        {"ann", "cy"},
    ),
]


@pytest.fixture(scope="module")
async def account(pool: asyncpg.Pool) -> AsyncIterator[uuid.UUID]:
    account_id = (await factories.account(pool, "conditions semantics test")).id
    # leads with chosen created_at and unsubscribed_at (which the API sets itself), relative
    # to the pinned NOW: written around the API on purpose
    for name, lead in LEADS.items():
        await pool.execute(INSERT_LEAD, *lead_row(account_id, f"{name}@example.com", lead))
    yield account_id
    await pool.execute("DELETE FROM accounts WHERE id = $1", account_id)


@pytest.mark.parametrize(("raw", "expected"), CASES)
async def test_select_leads_by_condition(
    pool: asyncpg.Pool, account: uuid.UUID, raw: Any, expected: set[str]
) -> None:
    cond = parse_condition(raw)
    compiled = compile_condition(cond, now=NOW, first_param=2)
    rows = await pool.fetch(
        f"SELECT l.* FROM leads l WHERE l.account_id = $1 AND {compiled.sql}",
        account,
        *compiled.params,
    )
    assert {row["email"].split("@")[0] for row in rows} == expected
    by_python = {
        name
        for name, lead in LEADS.items()
        if evaluate(cond, lead | {"email": f"{name}@example.com"}, NOW)
    }
    assert by_python == expected


EXTREME_OFFSETS = {
    "east": "2025-06-16T10:00:00+14:00",  # 2025-06-15T20:00Z, written on the next day
    "west": "2025-06-14T20:00:00-14:00",  # 2025-06-15T10:00Z, written on the day before
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_cmp("attributes.renewal", "before", "2025-06-15T20:00:01Z"), {"east", "west"}),
        (_cmp("attributes.renewal", "after", "2025-06-15T09:59:59Z"), {"east", "west"}),
        (_cmp("attributes.renewal", "eq", {"ago": {"minutes": 30}}), {"east"}),
        (_cmp("attributes.renewal", "within_last", {"hours": 1}), {"east"}),
        (_cmp("attributes.renewal", "within_last", {"hours": 11}), {"east", "west"}),
        ({"not": _cmp("attributes.renewal", "lte", "2025-06-15T10:00:00Z")}, {"east"}),
    ],
)
async def test_select_leads_by_attribute_date_with_extreme_offsets(
    pool: asyncpg.Pool, account: uuid.UUID, raw: Any, expected: set[str]
) -> None:
    """The text prefilter before a date check must allow for offsets of up to ±14:59."""
    now = datetime(2025, 6, 15, 20, 30, tzinfo=UTC)
    cond = parse_condition(raw)
    compiled = compile_condition(cond, now=now, first_param=2)
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            for name, renewal in EXTREME_OFFSETS.items():
                await factories.lead(
                    conn, account, f"{name}@offsets.example", attributes={"renewal": renewal}
                )
            rows = await conn.fetch(
                "SELECT l.email FROM leads l WHERE l.account_id = $1"
                f" AND l.email LIKE '%@offsets.example' AND {compiled.sql}",
                account,
                *compiled.params,
            )
        finally:
            await transaction.rollback()
    assert {row["email"].split("@")[0] for row in rows} == expected
    by_python = {
        name
        for name, renewal in EXTREME_OFFSETS.items()
        if evaluate(cond, {"attributes": {"renewal": renewal}}, now)
    }
    assert by_python == expected


# Strings at every edge of the one date format: field ranges, leap years, shapes, offsets.
DATE_EDGES = [
    "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "2100-02-28", "2100-02-29",
    "2025-04-30", "2025-04-31", "2025-12-31", "2025-13-01", "2025-00-10", "2025-06-00",
    "1000-01-01", "0999-12-31", "9999-12-31", "2025-6-15", "20250615", " 2025-06-15",
    "2025-06-15\n", "２０２５-06-15", "2025-06-15T23:59:59", "2025-06-15T24:00:00",
    "2025-06-15T23:60:00", "2025-06-15T23:59:60", "2025-06-15t12:00:00", "2025-06-15 12:00:00",
    "2025-06-15T12:00", "2025-06-15T12:00:00Z", "2025-06-15T12:00:00z", "2025-06-15T12:00:00.",
    "2025-06-15T12:00:00.123456", "2025-06-15T12:00:00.1234567", "2025-06-15T12:00:00.5+01:00",
    "2025-06-15T12:00:00+14:59", "2025-06-15T12:00:00-14:59", "2025-06-15T12:00:00+15:00",
    "2025-06-15T12:00:00+14:60", "2025-06-15T12:00:00+0100", "2025-06-15T12:00:00+01",
    "2025-06-15T12:00:00-00:00", "2025-06-15T12:00:00Z+01:00", "2025-06-15-01:00", "", "x",
]  # fmt: skip


async def test_attribute_date_sql_accepts_exactly_what_python_parses(pool: asyncpg.Pool) -> None:
    """The SQL date test (no regex: shape, then field ranges) agrees with `parse_date`.

    A session time zone far from UTC checks that no offset means UTC on both sides.
    """
    cond = parse_condition(_cmp("attributes.d", "after", "1000-01-01"))
    compiled = compile_condition(cond, now=NOW, first_param=2)
    async with pool.acquire() as conn:
        await conn.execute("SET TIME ZONE 'Pacific/Kiritimati'")
        try:
            rows = await conn.fetch(
                "SELECT s FROM unnest($1::text[]) s, "
                "LATERAL (SELECT jsonb_build_object('d', s) AS attributes) l "
                f"WHERE {compiled.sql}",
                DATE_EDGES,
                *compiled.params,
            )
        finally:
            await conn.execute("RESET TIME ZONE")
    by_python = {s for s in DATE_EDGES if evaluate(cond, {"attributes": {"d": s}}, NOW)}
    assert {row["s"] for row in rows} == by_python
    assert {"2024-02-29", "2025-06-15T12:00:00+14:59", "9999-12-31"} <= by_python
    assert not {"2023-02-29", "2025-06-15T24:00:00", "0999-12-31"} & by_python
