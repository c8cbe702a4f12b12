"""Webhook delivery: signed batches to a real receiver, retries while it fails or is down."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import SecretStr

from services.esp_simulator.config import Settings
from services.esp_simulator.protocol import WebhookBatch
from services.esp_simulator.testing import running_simulator, serving
from shared.settings import CommonSettings
from tests.esp_simulator.helpers import AUTH, SECRET, Receiver, bulk, eventually, message
from tests.ports import free_port


def _settings(webhook_url: str, **knobs: Any) -> Settings:
    common = CommonSettings(environment="test", simulator_webhook_secret=SecretStr(SECRET))
    return Settings(
        common=common,
        webhook_url=webhook_url,
        webhook_flush_ms=50,
        webhook_retry_base_s=0.05,
        webhook_retry_max_s=0.2,
        **knobs,
    )


@contextlib.asynccontextmanager
async def _with_receiver(receiver: Receiver, **knobs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A receiver, a simulator posting to it, and a client on the simulator."""
    async with (
        serving(receiver.app()) as hook_url,
        running_simulator(_settings(f"{hook_url}/hook", **knobs)) as base_url,
        httpx.AsyncClient(base_url=base_url) as sim,
    ):
        yield sim


async def _send_calls(sim: httpx.AsyncClient, calls: int, tag: str = "") -> list[dict[str, Any]]:
    sent = []
    for call in range(calls):
        messages = [message(call * 50 + i, tag=tag) for i in range(50)]
        response = await sim.post("/v1/messages/bulk", json=bulk(messages), headers=AUTH)
        assert response.status_code == 200
        sent += messages
    return sent


async def _counters(sim: httpx.AsyncClient) -> dict[str, Any]:
    counters: dict[str, Any] = (await sim.get("/v1/counters")).json()
    return counters


async def _until_posted(receiver: Receiver, events: int, what: str) -> None:
    """Wait until `receiver` holds `events` events."""

    async def posted() -> bool:
        return len(receiver.events) == events

    await eventually(posted, what=what)


async def test_post_webhooks_signed_batches_of_outcomes() -> None:
    receiver = Receiver()
    knobs = {"hard_bounce_rate": 0.2, "complaint_rate": 0.2, "open_rate": 0.5, "seed": 3}
    async with _with_receiver(receiver, webhook_batch_size=100, **knobs) as sim:
        sent = await _send_calls(sim, 3)
        counters = await _counters(sim)
        total: int = sum(counters["outcomes"].values())

        await _until_posted(receiver, total, "all events posted")
        counters = await _counters(sim)
    assert counters["webhooks"] == {"events_sent": total, "events_pending": 0, "failed_attempts": 0}
    assert receiver.bad_signatures == 0
    assert all(len(post) <= 100 for post in receiver.posts)
    events = receiver.events
    assert len({e["id"] for e in events}) == total
    for post in receiver.posts:
        WebhookBatch.model_validate({"events": post})
    by_type = Counter(e["type"] for e in events)
    assert by_type["delivered"] == counters["outcomes"]["delivered"]
    assert by_type["bounced"] == counters["outcomes"]["bounced_hard"] > 0
    assert by_type["complained"] == counters["outcomes"]["complained"] > 0
    assert by_type["opened"] == counters["outcomes"]["opened"] > 0
    first = {e["message_id"]: e for e in sent}
    for event in events:
        original = first[event["message_id"]]
        assert event["metadata"] == original["metadata"]
        assert event["recipient"] == original["to"]
        assert event["occurred_at"].endswith("+00:00")
        assert (event["bounce_type"] == "hard") == (event["type"] == "bounced")
    delivered = {e["message_id"] for e in events if e["type"] == "delivered"}
    assert {e["message_id"] for e in events if e["type"] == "complained"} <= delivered


async def test_post_webhooks_duplicates_produce_no_events() -> None:
    receiver = Receiver()
    async with _with_receiver(receiver) as sim:
        await _send_calls(sim, 1, tag="same")
        await _send_calls(sim, 1, tag="same")

        async def idle() -> bool:
            return bool((await _counters(sim))["webhooks"]["events_pending"] == 0)

        await eventually(idle, what="no pending events")
        counters = await _counters(sim)
    assert counters["duplicates"] == 50
    assert len(receiver.events) == counters["webhooks"]["events_sent"] == 50


async def test_post_webhooks_retries_after_server_errors() -> None:
    receiver = Receiver(fail_first=3)
    async with _with_receiver(receiver) as sim:
        sent = await _send_calls(sim, 2)

        await _until_posted(receiver, 100, "events after retries")
        counters = await _counters(sim)
    assert receiver.refused == 3
    assert counters["webhooks"]["failed_attempts"] == 3
    assert counters["webhooks"]["events_sent"] == 100
    assert sorted(e["message_id"] for e in receiver.events) == sorted(m["message_id"] for m in sent)


async def test_post_webhooks_keeps_events_while_receiver_down() -> None:
    receiver = Receiver()
    port = free_port()
    async with (
        running_simulator(_settings(f"http://127.0.0.1:{port}/hook")) as base_url,
        httpx.AsyncClient(base_url=base_url) as sim,
    ):
        await _send_calls(sim, 2)

        async def failing() -> bool:
            webhooks = (await _counters(sim))["webhooks"]
            return bool(webhooks["failed_attempts"] >= 2 and webhooks["events_pending"] == 100)

        await eventually(failing, what="failed attempts while down")
        async with serving(receiver.app(), port=port):
            await _until_posted(receiver, 100, "events after the receiver came up")
            counters = await _counters(sim)
    assert counters["webhooks"]["events_sent"] == 100
    assert counters["webhooks"]["events_pending"] == 0
    assert len({e["id"] for e in receiver.events}) == 100


async def test_post_webhooks_keep_their_connection_alive() -> None:
    """One post at a time (batches of 10, sent one after another) over one connection."""
    receiver = Receiver()
    async with _with_receiver(receiver, webhook_batch_size=10) as sim:
        await _send_calls(sim, 2)

        await _until_posted(receiver, 100, "every event posted")
    assert len(receiver.posts) >= 10
    assert len(set(receiver.peers)) < len(receiver.posts) / 2


async def test_post_webhooks_reconnect_when_the_receiver_closes_each_connection() -> None:
    receiver = Receiver(close_each=True)
    async with _with_receiver(receiver, webhook_batch_size=10) as sim:
        sent = await _send_calls(sim, 2)

        await _until_posted(receiver, 100, "every event posted")
        counters = await _counters(sim)
    assert counters["webhooks"]["failed_attempts"] == 0
    assert len(set(receiver.peers)) == len(receiver.posts) >= 10
    assert sorted(e["message_id"] for e in receiver.events) == sorted(m["message_id"] for m in sent)


async def test_send_bulk_backlog_full_answers_503() -> None:
    port = free_port()
    settings = _settings(f"http://127.0.0.1:{port}/hook", webhook_queue_max=160)
    async with (
        running_simulator(settings) as base_url,
        httpx.AsyncClient(base_url=base_url) as sim,
    ):
        await _send_calls(sim, 1)
        refused = await sim.post(
            "/v1/messages/bulk", json=bulk([message(i) for i in range(50)]), headers=AUTH
        )
        counters = await _counters(sim)
    assert refused.status_code == 503
    assert counters["unique"] == 50
    assert counters["server_errors"] == 1


async def test_post_webhooks_after_outcome_delay() -> None:
    receiver = Receiver()
    async with _with_receiver(receiver, outcome_delay_ms=400) as sim:
        await _send_calls(sim, 1)
        pending = (await _counters(sim))["webhooks"]["events_pending"]
        early = len(receiver.events)

        await _until_posted(receiver, 50, "delayed events")
    assert (pending, early) == (50, 0)


def test_simulator_format_writes_uuid_subclasses_as_their_text() -> None:
    """Ids read from Postgres are asyncpg's UUID subclass (the webhook flood bench builds
    events from such rows); orjson alone writes only exact UUIDs."""
    from asyncpg.pgproto.pgproto import UUID as PgUUID

    from fanout_cli.bench.webhook_flood import flood_events
    from services.esp_simulator.webhooks import SimulatorFormat

    account, campaign = uuid.uuid4(), uuid.uuid4()
    events = flood_events(PgUUID(str(account)), PgUUID(str(campaign)), 3)
    [post] = SimulatorFormat("secret").posts(events)
    body, _ = post.make()
    batch = WebhookBatch.model_validate_json(body)
    assert [e.metadata["account_id"] for e in batch.events] == [str(account)] * 3
    assert {e.metadata["campaign_id"] for e in batch.events} == {str(campaign)}
