"""THE property: over random leads in the real Postgres, the compiled SQL selects exactly the
leads the Python evaluator selects, for random conditions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings

from shared.conditions import compile_condition, evaluate, parse_condition
from tests import factories
from tests.shared.conditions.stored import INSERT_LEAD, lead_row
from tests.shared.conditions.strategies import NOW, conditions, lead_batches

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
async def account(pool: asyncpg.Pool) -> AsyncIterator[uuid.UUID]:
    """A dedicated account; every lead is inserted inside a rolled-back transaction."""
    account_id = (await factories.account(pool, "conditions property test")).id
    yield account_id
    await pool.execute("DELETE FROM accounts WHERE id = $1", account_id)


async def _select(
    pool: asyncpg.Pool, account_id: uuid.UUID, leads: list[dict[str, Any]], raw: Any
) -> tuple[set[Any], set[Any], set[Any], str]:
    """Ids the SQL selects, the Python evaluator selects on the stored rows and on the
    generated leads, and a description of the leads they disagree on."""
    cond = parse_condition(raw)
    compiled = compile_condition(cond, now=NOW, first_param=2)
    query = f"SELECT l.id FROM leads l WHERE l.account_id = $1 AND {compiled.sql}"
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.executemany(
                INSERT_LEAD, [lead_row(account_id, lead["email"], lead) for lead in leads]
            )
            by_sql = {row["id"] for row in await conn.fetch(query, account_id, *compiled.params)}
            stored = await conn.fetch("SELECT * FROM leads WHERE account_id = $1", account_id)
        finally:
            await transaction.rollback()
    by_python = {row["id"] for row in stored if evaluate(cond, dict(row), NOW)}
    emails = {row["email"]: row["id"] for row in stored}
    by_generated = {emails[lead["email"]] for lead in leads if evaluate(cond, lead, NOW)}
    agreed = by_sql & by_python & by_generated
    disputed = [
        dict(row) for row in stored if row["id"] in (by_sql | by_python | by_generated) - agreed
    ]
    return by_sql, by_python, by_generated, f"{raw}\n{compiled}\n{disputed}"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(leads=lead_batches(), raw=conditions)
async def test_compiled_condition_selects_what_evaluator_selects(
    pool: asyncpg.Pool, account: uuid.UUID, leads: list[dict[str, Any]], raw: Any
) -> None:
    by_sql, by_python, by_generated, explanation = await _select(pool, account, leads, raw)
    assert by_sql == by_python, explanation
    assert by_python == by_generated, explanation
