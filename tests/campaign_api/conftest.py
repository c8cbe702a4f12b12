"""Fixtures for campaign_api tests: the app with its lifespan, accounts and their clients."""

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
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings
from shared.topics import all_topic_names


@dataclass
class Tenant:
    """An account, its key and a client authenticated with it."""

    account_id: UUID
    key: str
    client: httpx.AsyncClient


async def start_app(common: CommonSettings) -> tuple[FastAPI, Callable[[], Awaitable[None]]]:
    app = create_app(Settings(common=common))
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()

    async def stop() -> None:
        await lifespan.__aexit__(None, None, None)

    return app, stop


@pytest.fixture(scope="session")
async def api_app(base_settings: CommonSettings, pg_dsn: str) -> AsyncIterator[FastAPI]:
    """One app for the session (its topic prefix is never used by Kafka tests)."""
    common = base_settings.model_copy(
        update={"database_url": pg_dsn, "topic_prefix": f"t{uuid.uuid4().hex[:8]}."}
    )
    # Kafka tests relay every pending outbox row of the session database, ours included:
    # the topics must exist, or the relay would wait on them.
    await ensure_topics(common, all_topic_names(common.topic_prefix))
    app, stop = await start_app(common)
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
async def make_tenant(api_app: FastAPI, pool: asyncpg.Pool) -> AsyncIterator[TenantFactory]:
    """Makes fresh accounts with a key and an authenticated client."""
    clients: list[httpx.AsyncClient] = []

    async def make(app: FastAPI | None = None) -> Tenant:
        account_id, key = await create_account(pool, f"test-{uuid.uuid4().hex[:6]}")
        client = client_for(app or api_app, key)
        clients.append(client)
        return Tenant(account_id, key, client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> Tenant:
    """A fresh account."""
    return await make_tenant()
