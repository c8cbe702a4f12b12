"""The benchmark's PostgreSQL CPU time: every server process counted from the start of the
run (or its own start), and kept once it ends, in the total as in the split by role."""

from __future__ import annotations

import asyncpg
import pytest

from fanout_cli.bench.sampler import Sampler
from shared.settings import CommonSettings

pytestmark = pytest.mark.postgres

BURN = "SELECT count(*) FROM generate_series(1, $1::int)"
SECOND = 6_000_000  # rows that take a backend a good fraction of a second of CPU here


async def _role(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute("SELECT set_config('application_name', $1, false)", name)


def _sampler(settings: CommonSettings) -> Sampler:
    sampler = Sampler(settings)
    sampler.start()
    assert "postgres" in sampler.figures, "the test stack's postmaster was not found"
    return sampler


async def test_a_backend_that_ends_during_the_run_keeps_its_cpu(
    base_settings: CommonSettings, pg_dsn: str
) -> None:
    old = await asyncpg.connect(pg_dsn)
    await old.fetchval(BURN, SECOND)  # CPU time of its life before the run
    sampler = _sampler(base_settings)
    new = await asyncpg.connect(pg_dsn)
    await _role(new, "sampler-test")
    await new.fetchval(BURN, SECOND)
    sampler.sample()
    sampler.sample_roles({new.get_server_pid(): "sampler-test"})
    burnt = sampler.postgres_roles["sampler-test"]
    assert burnt > 0.05
    await new.close()
    await old.close()  # took its whole life's CPU out of the total before
    total = sampler.cpu_seconds()["postgres"]  # rounded to 10 ms
    assert total >= burnt - 0.01  # the old total: about what the other backends used meanwhile
    sampler.sample_roles({})
    assert sampler.postgres_roles["sampler-test"] == burnt  # kept once it ended


async def test_a_backend_alive_at_the_start_counts_from_the_start_only(
    base_settings: CommonSettings, pg_dsn: str
) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.fetchval(BURN, SECOND)
        sampler = _sampler(base_settings)
        sampler.sample()
        sampler.sample_roles({conn.get_server_pid(): "before"})
        assert sampler.postgres_roles.get("before", 0.0) < 0.05
        await conn.fetchval(BURN, SECOND)
        sampler.sample()
        sampler.sample_roles({conn.get_server_pid(): "before"})
        assert sampler.postgres_roles["before"] > 0.05
    finally:
        await conn.close()
