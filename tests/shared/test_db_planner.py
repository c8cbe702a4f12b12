"""The planner settings of the services that look rows up by key (`shared.db`): sessions of
their pools never scan where an index applies, never JIT-compile a statement, and with
GENERIC_INDEX_PROBES run each prepared statement from its generic plan."""

from __future__ import annotations

import pytest

from shared.db import GENERIC_INDEX_PROBES, INDEX_PROBES, create_pool

pytestmark = [pytest.mark.postgres]

SETTINGS = "SELECT current_setting('enable_seqscan'), current_setting('jit'), " + (
    "current_setting('plan_cache_mode')"
)


@pytest.mark.parametrize(
    ("planner", "expected"),
    [
        (INDEX_PROBES, ("off", "off", "auto")),
        (GENERIC_INDEX_PROBES, ("off", "off", "force_generic_plan")),
    ],
    ids=["index-probes", "generic-index-probes"],
)
async def test_pooled_sessions_take_the_planner_settings(
    pg_dsn: str, planner: dict[str, str], expected: tuple[str, str, str]
) -> None:
    pool = await create_pool(pg_dsn, max_size=2, planner=planner)
    try:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(SETTINGS)
    finally:
        await pool.close()
    assert row is not None and tuple(row) == expected
