"""Fixtures of the notifier tests: a database of their own, a receiver, a pinned clock.

The notifier's dispatcher takes every due delivery of its database, so these tests use
one of their own (created once per session): deliveries other tests leave behind are
never attempted here, and these tests' never elsewhere.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import httpx
import pytest

from services.campaign_api.webhooks.endpoints import create_endpoint
from services.esp_simulator.testing import serving
from services.notifier.config import Settings
from services.notifier.dispatcher import Dispatcher
from services.notifier.policy import DeliveryPolicy
from shared.auth import create_account
from shared.db import create_pool
from shared.outbound.secrets import SecretBox, secret_box
from shared.settings import CommonSettings
from tests.databases import scratch_database
from tests.notifier.receiver import Receiver


@pytest.fixture(scope="session")
async def notifier_pool(base_settings: CommonSettings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a database of the notifier tests' own (every migration applied)."""
    async with scratch_database(base_settings.database_url) as dsn:
        pool = await create_pool(dsn, max_size=5)
        try:
            yield pool
        finally:
            await pool.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver served on a free port; its `url` is the endpoint to register."""
    found = Receiver()
    async with serving(found.app()) as base_url:
        found.url = f"{base_url}/hook"
        yield found


class PinnedClock:
    """Wall-clock time that moves only when told (starts at the real now: receivers
    check a webhook's timestamp against their own clock, within five minutes)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def catch_up(self) -> None:
        """Not behind the real time (what the database's now() stamped)."""
        self.now = max(self.now, datetime.now(UTC))


@dataclass
class Notifier:
    """A dispatcher on the tests' database, its clock, and an account to register with."""

    dispatcher: Dispatcher
    clock: PinnedClock
    pool: asyncpg.Pool
    box: SecretBox
    account: UUID

    async def endpoint(self, url: str, *types: str) -> tuple[UUID, str]:
        """A new endpoint of the account (id, secret), subscribed to `types`."""
        row, secret = await create_endpoint(
            self.pool, self.box, self.account, url=url, event_types=list(types), description=""
        )
        return row["id"], secret


@pytest.fixture
async def notifier(
    notifier_pool: asyncpg.Pool, base_settings: CommonSettings
) -> AsyncIterator[Notifier]:
    """A dispatcher retrying after 5 s then 60 s (no jitter), disabling an endpoint at
    its fourth failure in a row, on a pinned clock; and a fresh account."""
    settings = Settings(
        common=base_settings,
        delivery=DeliveryPolicy(
            retry_schedule_s=[5, 60], disable_after_failures=4, disable_after_hours=0
        ),
    )
    clock = PinnedClock()
    box = secret_box(base_settings)
    account, _ = await create_account(notifier_pool, f"n-{uuid.uuid4().hex[:6]}")
    async with httpx.AsyncClient(timeout=5, follow_redirects=False) as client:
        dispatcher = Dispatcher(settings, notifier_pool, box, client, clock=clock, jitter=lambda: 0)
        yield Notifier(dispatcher, clock, notifier_pool, box, account)
    # nothing of this test stays due for the next one (its clock may be far behind)
    await notifier_pool.execute("DELETE FROM webhook_endpoints WHERE account_id = $1", account)
