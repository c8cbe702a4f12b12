"""Fixtures for campaign_api tests: the app with its lifespan, accounts and their clients.

The app verifies sending domains against the simulator's DNS server (`local_dns`),
and every tenant starts with one verified domain of its own (`Tenant.domain`), as
a campaign needs one (docs/domains.md).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.campaign_api.config import Settings
from services.campaign_api.main import create_app
from shared.auth import create_account
from shared.settings import CommonSettings
from tests.databases import scratch_database
from tests.domains import LocalDns, verified_domain


@dataclass
class Tenant:
    """An account, its key, a client authenticated with it and its verified sending domain."""

    account_id: UUID
    key: str
    client: httpx.AsyncClient
    domain: str

    @property
    def sender(self) -> str:
        """An address of its verified domain, to send campaigns from."""
        return f"news@{self.domain}"


async def start_app(
    common: CommonSettings, dns: LocalDns
) -> tuple[FastAPI, Callable[[], Awaitable[None]]]:
    """The app with its lifespan entered, verifying domains through `dns`; and its stop."""
    app = create_app(Settings(common=common, domains=dns.settings))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()

    async def stop() -> None:
        await lifespan.__aexit__(None, None, None)

    return app, stop


@pytest.fixture(scope="session")
async def api_app(
    base_settings: CommonSettings, pg_dsn: str, local_dns: LocalDns
) -> AsyncIterator[FastAPI]:
    """One app for the session (its topic prefix is never used by Kafka tests)."""
    # The topics of this prefix are never created: no relay runs on the session database
    # (the Kafka tests use databases of their own).
    common = base_settings.model_copy(
        update={"database_url": pg_dsn, "topic_prefix": f"t{uuid.uuid4().hex[:8]}."}
    )
    app, stop = await start_app(common, local_dns)
    yield app
    await stop()


def client_for(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers)


class TenantFactory(Protocol):
    """Makes a fresh account, with a client on `app` (default: the session app)."""

    def __call__(self, app: FastAPI | None = None) -> Awaitable[Tenant]: ...


@pytest.fixture
async def make_tenant(
    api_app: FastAPI, pool: asyncpg.Pool, local_dns: LocalDns
) -> AsyncIterator[TenantFactory]:
    """Makes fresh accounts with a key, an authenticated client and a verified domain."""
    clients: list[httpx.AsyncClient] = []

    async def make(app: FastAPI | None = None) -> Tenant:
        account_id, key = await create_account(pool, f"test-{uuid.uuid4().hex[:6]}")
        client = client_for(app or api_app, key)
        clients.append(client)
        return Tenant(account_id, key, client, await verified_domain(pool, account_id, local_dns))

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def private_db(base_settings: CommonSettings) -> AsyncIterator[str]:
    """A database of its own (all migrations), so a relay sees only this test's outbox rows."""
    async with scratch_database(base_settings.database_url) as dsn:
        yield dsn


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> Tenant:
    """A fresh account."""
    return await make_tenant()
