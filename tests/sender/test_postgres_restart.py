"""The send path survives Postgres restarts: the step whose query failed retries it.

A Postgres cluster of the test's own under the sender and the lead resolver is
stopped with a fast shutdown (as an operator restarts one) three times during
one campaign, each time down 5 s. Both processes must still run afterwards,
the campaign must complete, and every matched lead must have exactly one
outcome. A query on a pooled connection that a shutdown had just reached used
to fail with asyncpg's InternalClientError ("cannot switch to state 12; another
operation (2) is in progress"), which no step retried: the sender exited. The
window is short, so the campaign runs fast (many queries) and restarts thrice.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from fanout_cli.stack import postgres as pg
from services.esp_simulator.config import Settings as SimulatorSettings
from services.esp_simulator.testing import running_simulator
from shared.db import create_pool
from shared.kafka.admin import delete_topics, ensure_topics
from shared.migrations.postgres import upgrade_async
from shared.settings import CommonSettings
from shared.topics import all_topic_names
from tests.ports import free_port
from tests.send_path import (
    Service,
    assert_exactly_one_outcome,
    outcomes_recorded,
    publish_command,
    read_events,
    seed_campaign,
    service_env,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]

LEADS = 8_000
SEND_RATE = 800  # emails/s: about 10 s of sending, around which the restarts land
RESTART_AT = (0.2, 0.45, 0.7)  # shares of the leads with an outcome
DOWN_S = 5.0


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, pg.PostgresTarget]]:
    """A cluster of the test's own on a free port (its home readable by `postgres`)."""
    home = Path(tempfile.mkdtemp(prefix="fanout-pg-restart-"))
    home.chmod(0o755)
    dsn = f"postgresql://fanout:fanout@127.0.0.1:{free_port()}/fanout"
    target = pg.PostgresTarget.from_dsn(dsn, home)
    bindir = pg.ensure_installed([])
    try:
        pg.start(bindir, target, [])
        pg.ensure_database(target)
        yield dsn, target
    finally:
        pg.stop(bindir, target)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def own_settings(
    base_settings: CommonSettings, own_postgres: tuple[str, pg.PostgresTarget], topic_prefix: str
) -> AsyncIterator[CommonSettings]:
    dsn, _ = own_postgres
    await upgrade_async(dsn)
    common = base_settings.model_copy(update={"database_url": dsn, "topic_prefix": topic_prefix})
    topics = all_topic_names(topic_prefix)
    await ensure_topics(common, topics)
    yield common
    await delete_topics(common, [name for name, _ in topics])


async def _restart(target: pg.PostgresTarget) -> None:
    bindir = pg.ensure_installed([])
    await asyncio.to_thread(pg.stop, bindir, target)
    await asyncio.sleep(DOWN_S)
    await asyncio.to_thread(pg.start, bindir, target, [])


def _assert_running(services: list[Service]) -> None:
    for service in services:
        assert service.process is not None
        assert service.process.poll() is None, f"{service.name} exited:\n{service.log_tail()}"


async def _outcomes_reach(
    dsn: str, campaign_id: uuid.UUID, count: int, services: list[Service]
) -> None:
    deadline = time.monotonic() + 120
    pool = await create_pool(dsn, max_size=1)
    try:
        while await outcomes_recorded(pool, campaign_id) < count:
            _assert_running(services)
            assert time.monotonic() < deadline, f"fewer than {count} outcomes after 120 s"
            await asyncio.sleep(0.1)
    finally:
        await pool.close()


async def test_send_path_survives_postgres_restart(
    own_settings: CommonSettings, own_postgres: tuple[str, pg.PostgresTarget], tmp_path: Path
) -> None:
    dsn, target = own_postgres
    pool = await create_pool(dsn, max_size=2)
    try:
        seeded = await seed_campaign(pool, matching=LEADS)
    finally:
        await pool.close()
    async with running_simulator(SimulatorSettings(webhook_url="", seed=7)) as simulator:
        env = service_env(
            own_settings,
            FANOUT_SENDER_SIMULATOR_URL=simulator,
            FANOUT_SENDER_RATE_BUDGETS=f'{{"simulator": {SEND_RATE}}}',
        )
        services = [Service(name, env, tmp_path).start() for name in ("sender", "lead_resolver")]
        try:
            await publish_command(own_settings, seeded)
            for share in RESTART_AT:
                await _outcomes_reach(dsn, seeded.campaign_id, int(LEADS * share), services)
                await _restart(target)
            await _outcomes_reach(dsn, seeded.campaign_id, LEADS, services)
            pool = await create_pool(dsn, max_size=2)
            try:
                row = await wait_for(pool, seeded.campaign_id, {"completed"}, timeout=60)
            finally:
                await pool.close()
            _assert_running(services)
        finally:
            for service in services:
                service.stop()
    assert (row["matched"], row["sent"]) == (LEADS, LEADS)
    assert_exactly_one_outcome(await read_events(own_settings), seeded)
