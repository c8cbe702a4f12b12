"""The service on the real broker and Postgres, with test credentials for every provider."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from services.webhook_ingest.config import ProviderName, Settings
from services.webhook_ingest.main import create_app
from services.webhook_ingest.providers.sns_http import CertFetcher
from shared.contracts.base import decode
from shared.contracts.deadletter import DeadLetter
from shared.contracts.events import EmailEvent, EventBatch
from shared.settings import CommonSettings
from shared.topics import Topic, dead_letter_name, topic_name
from tests import factories
from tests.shared.kafka_helpers import read_until
from tests.topics import TestTopics
from tests.webhook_ingest.keys import CERT_URL, TOPIC_ARN, TestKeys, make_keys, sign_simulator

EXAMPLES = Path(__file__).parent / "examples"
MAILGUN_KEY = "key-test-mailgun-signing"
POSTMARK_USER = "postmark"
POSTMARK_PASSWORD = "s3cret-postmark-password"


def example(name: str) -> Any:
    """A documented provider payload from `examples/`."""
    return json.loads((EXAMPLES / name).read_text())


def simulator_post(ids: Ids, *, seed: str = "") -> bytes:
    """The documented simulator post with fresh event ids (per lead and seed) and our metadata."""
    payload = example("simulator/events.json")
    for event in payload["events"]:
        event["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}{event['id']}{ids.lead_id}"))
        event["metadata"] = ids.metadata()
    return orjson.dumps(payload)


@dataclass
class Ingest:
    """A running webhook_ingest app and what its fakes of the outside world saw."""

    client: httpx.AsyncClient
    settings: Settings
    pool: asyncpg.Pool
    keys: TestKeys
    app: FastAPI
    fetched: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)

    @property
    def secret(self) -> str:
        return self.settings.common.secret("simulator_webhook_secret")

    @property
    def topic(self) -> str:
        return topic_name(Topic.EMAIL_EVENTS, self.settings.common.topic_prefix)

    async def post_simulator(self, body: bytes) -> httpx.Response:
        """`body` posted to the simulator's webhook, signed now with the stack's secret."""
        headers = sign_simulator(self.secret, int(time.time()), body)
        return await self.client.post("/webhooks/simulator", content=body, headers=headers)

    async def emitted(self, expected: int, timeout_ms: int = 5000) -> list[EmailEvent]:
        """The events on the topic, read until `expected` arrived (or the timeout)."""
        values = await self._read(self.topic, expected, timeout_ms, batched=True)
        return [event for value in values for event in decode(EventBatch, value).events]

    async def dead_letters(self, expected: int, timeout_ms: int = 5000) -> list[DeadLetter]:
        """The letters on the dead-letter topic, read until `expected` arrived (or the timeout)."""
        values = await self._read(dead_letter_name(self.topic), expected, timeout_ms)
        return [decode(DeadLetter, value) for value in values]

    async def _read(
        self, topic: str, expected: int, timeout_ms: int, *, batched: bool = False
    ) -> list[bytes]:
        servers = self.settings.common.kafka_bootstrap_servers
        count = _count if batched else len
        return await read_until(
            servers, topic, lambda values: count(values) >= expected, timeout_ms
        )

    async def records_on_topic(self) -> int:
        """How many records the topic holds (end offsets of every partition; no waiting)."""
        consumer = AIOKafkaConsumer(
            self.topic, bootstrap_servers=self.settings.common.kafka_bootstrap_servers
        )
        await consumer.start()
        try:
            ends = await consumer.end_offsets(list(consumer.assignment()))
            assert ends, "no partitions assigned"
            return sum(ends.values())
        finally:
            await consumer.stop()

    async def suppressed(self, account_id: uuid.UUID) -> dict[str, str]:
        rows = await self.pool.fetch(
            "SELECT email, reason FROM suppressions WHERE account_id = $1", account_id
        )
        return {r["email"]: r["reason"] for r in rows}


def _count(values: list[bytes]) -> int:
    """Events in the `EventBatch` values read so far."""
    return sum(len(decode(EventBatch, value).events) for value in values)


@pytest.fixture
async def settings(
    base_settings: CommonSettings, pg_dsn: str, topic_prefix: str, test_topics: TestTopics
) -> AsyncIterator[CommonSettings]:
    """Like the root fixture, but only the topics this service writes (email.events and its
    dead-letter topic), one partition each, deleted afterwards: a single test broker cannot
    hold 33 partitions per test for ever."""
    common = base_settings.model_copy(update={"topic_prefix": topic_prefix, "database_url": pg_dsn})
    topic = topic_name(Topic.EMAIL_EVENTS, topic_prefix)
    topics = [topic, dead_letter_name(topic)]
    await test_topics.create([(name, 1) for name in topics])
    yield common
    await test_topics.retire(topics)


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return make_keys()


def service_settings(settings: CommonSettings, keys: TestKeys, **overrides: Any) -> Settings:
    """webhook_ingest's settings with every provider listed, each with test credentials."""
    values: dict[str, Any] = {
        "common": settings,
        "providers": list(get_args(ProviderName)),
        "ses_topic_arns": [TOPIC_ARN],
        "sendgrid_public_key": keys.sendgrid_public_b64,
        "mailgun_signing_key": MAILGUN_KEY,
        "postmark_username": POSTMARK_USER,
        "postmark_password": POSTMARK_PASSWORD,
        "db_pool_size": 2,
    }
    return Settings(**(values | overrides))


@asynccontextmanager
async def running(
    service: Settings, pool: asyncpg.Pool, keys: TestKeys, fetch: CertFetcher | None = None
) -> AsyncIterator[Ingest]:
    """The app with its lifespan running; SNS certificates from `fetch` (default: the test CA's
    certificate at CERT_URL, each fetch recorded)."""
    fetched: list[str] = []
    confirmed: list[str] = []

    async def fetch_test_certificate(url: str) -> bytes:
        fetched.append(url)
        assert url == CERT_URL
        return keys.sns_cert_pem

    async def confirm(url: str) -> None:
        confirmed.append(url)

    app = create_app(
        service, cert_fetcher=fetch or fetch_test_certificate, confirm_subscription=confirm
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield Ingest(client, service, pool, keys, app, fetched, confirmed)


@pytest.fixture
async def ingest(
    settings: CommonSettings, pool: asyncpg.Pool, keys: TestKeys
) -> AsyncIterator[Ingest]:
    """The app with its lifespan running, its own topics, SNS served by the test CA."""
    async with running(service_settings(settings, keys), pool, keys) as service:
        yield service


@pytest.fixture
async def account(pool: asyncpg.Pool) -> uuid.UUID:
    """A fresh account."""
    return (await factories.account(pool, "webhook test")).id


@dataclass(frozen=True)
class Ids:
    """Fanout ids of one email, as the sender attaches them."""

    account_id: uuid.UUID
    campaign_id: uuid.UUID
    lead_id: uuid.UUID

    def metadata(self) -> dict[str, str]:
        return {
            "account_id": str(self.account_id),
            "campaign_id": str(self.campaign_id),
            "lead_id": str(self.lead_id),
        }


@pytest.fixture
def ids(account: uuid.UUID) -> Ids:
    return Ids(account, uuid.uuid4(), uuid.uuid4())
