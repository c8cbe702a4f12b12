"""The dispatcher against a real receiver: signed per Standard Webhooks, retried after
failures on the schedule, given up and replayed, endpoints disabled with a notice.

Receivers verify every request with the `standardwebhooks` package; the clock is pinned
and moved by hand, so "60 s later" takes no time.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from standardwebhooks.webhooks import Webhook
from structlog.testing import capture_logs

from services.campaign_api.webhooks.deliveries import replay_delivery
from services.campaign_api.webhooks.endpoints import rotate_secret
from services.notifier.payloads import envelope
from services.notifier.queue import NewDelivery, enqueue
from shared.outbound.event_types import WebhookEventType
from tests.notifier.conftest import Notifier
from tests.notifier.receiver import Receiver

pytestmark = pytest.mark.postgres
COMPLETED = WebhookEventType.CAMPAIGN_COMPLETED


async def queue(notifier: Notifier, endpoint: UUID) -> UUID:
    """A campaign.completed delivery to `endpoint`, due now."""
    delivery = uuid4()
    body = envelope(COMPLETED, notifier.clock.now, {"campaign_id": "c1", "summary": {"sent": 3}})
    async with notifier.pool.acquire() as conn:
        await enqueue(
            conn, [NewDelivery(delivery, endpoint, notifier.account, COMPLETED, 1, body)], "test"
        )
        # queued at the database's now(); due at the pinned clock's instead
        await conn.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1",
            delivery,
            notifier.clock.now,
        )
    return delivery


async def delivery_row(notifier: Notifier, delivery: UUID) -> dict[str, object]:
    row = await notifier.pool.fetchrow("SELECT * FROM webhook_deliveries WHERE id = $1", delivery)
    assert row is not None
    return dict(row)


async def test_a_delivery_verifies_with_standardwebhooks(
    notifier: Notifier, receiver: Receiver
) -> None:
    endpoint, secret = await notifier.endpoint(receiver.url, COMPLETED)
    delivery = await queue(notifier, endpoint)

    await notifier.dispatcher.dispatch_once()

    [got] = receiver.received
    assert got.verify(secret) == {
        "type": "campaign.completed",
        "timestamp": notifier.clock.now.isoformat().replace("+00:00", "Z"),
        "data": {"campaign_id": "c1", "summary": {"sent": 3}},
    }
    assert got.headers["webhook-id"] == str(delivery)
    assert got.headers["webhook-timestamp"] == str(int(notifier.clock.now.timestamp()))
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 44).verify(got.body, got.headers)
    row = await delivery_row(notifier, delivery)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("succeeded", 1, 204)


async def test_500s_are_retried_on_the_schedule_with_the_same_id(
    notifier: Notifier, receiver: Receiver
) -> None:
    endpoint, secret = await notifier.endpoint(receiver.url, COMPLETED)
    delivery = await queue(notifier, endpoint)
    receiver.answers = [500, 503]
    start = notifier.clock.now

    await notifier.dispatcher.dispatch_once()
    row = await delivery_row(notifier, delivery)
    assert (row["status"], row["next_attempt_at"]) == ("pending", start + timedelta(seconds=5))
    assert await notifier.dispatcher.next_due_in() == 5.0  # the dispatcher sleeps until then

    notifier.clock.advance(4)
    await notifier.dispatcher.dispatch_once()
    assert len(receiver.received) == 1  # not due yet
    assert await notifier.dispatcher.next_due_in() == 1.0

    notifier.clock.advance(1)
    await notifier.dispatcher.dispatch_once()
    row = await delivery_row(notifier, delivery)
    assert row["next_attempt_at"] == start + timedelta(seconds=65)

    notifier.clock.advance(60)
    await notifier.dispatcher.dispatch_once()
    row = await delivery_row(notifier, delivery)
    assert (row["status"], row["attempts"]) == ("succeeded", 3)
    assert await notifier.dispatcher.next_due_in() is None  # nothing left to wake for
    assert {r.headers["webhook-id"] for r in receiver.received} == {str(delivery)}
    for got in receiver.received:
        got.verify(secret)
    codes = await notifier.pool.fetch(
        "SELECT status_code FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id", delivery
    )
    assert [r["status_code"] for r in codes] == [500, 503, 204]


async def test_retry_after_is_honoured(notifier: Notifier, receiver: Receiver) -> None:
    endpoint, _ = await notifier.endpoint(receiver.url, COMPLETED)
    delivery = await queue(notifier, endpoint)
    receiver.answers, receiver.retry_after = [429], "30"

    await notifier.dispatcher.dispatch_once()

    row = await delivery_row(notifier, delivery)
    assert row["next_attempt_at"] == notifier.clock.now + timedelta(seconds=30)  # not 5


async def test_a_delivery_that_gave_up_is_replayed_with_its_id(
    notifier: Notifier, receiver: Receiver
) -> None:
    endpoint, secret = await notifier.endpoint(receiver.url, COMPLETED)
    other, _ = await notifier.endpoint(receiver.url + "?other", "lead.bounced")
    delivery = await queue(notifier, endpoint)
    receiver.answers = [500, 500, 500]
    for wait in (0, 5, 60):
        notifier.clock.advance(wait)
        await notifier.dispatcher.dispatch_once()
    assert (await delivery_row(notifier, delivery))["status"] == "failed"

    assert not await replay_delivery(notifier.pool, other, delivery, notifier.clock.now)
    assert await replay_delivery(notifier.pool, endpoint, delivery, notifier.clock.now)
    await notifier.dispatcher.dispatch_once()

    row = await delivery_row(notifier, delivery)
    assert (row["status"], row["attempts"]) == ("succeeded", 4)
    assert receiver.received[-1].headers["webhook-id"] == str(delivery)
    receiver.received[-1].verify(secret)


async def test_an_endpoint_that_keeps_failing_is_disabled_with_a_notice(
    notifier: Notifier, receiver: Receiver
) -> None:
    failing, _ = await notifier.endpoint(receiver.url, COMPLETED)
    _, watcher_secret = await notifier.endpoint(receiver.url + "?ops", "endpoint.disabled")
    first, second = await queue(notifier, failing), await queue(notifier, failing)
    receiver.answers = [500, 500, 500, 500]

    with capture_logs() as logs:
        await notifier.dispatcher.dispatch_once()  # two failures
        notifier.clock.advance(5)
        await notifier.dispatcher.dispatch_once()  # four: disabled

    endpoint = await notifier.pool.fetchrow(
        "SELECT status, disabled_reason FROM webhook_endpoints WHERE id = $1", failing
    )
    assert endpoint is not None and endpoint["status"] == "disabled"
    assert "4 failed attempts in a row" in endpoint["disabled_reason"]
    assert [e["endpoint_id"] for e in logs if e["event"] == "webhooks.endpoint_disabled"] == [
        str(failing)
    ]
    # the notice reaches the account's other endpoint; the disabled one's queue waits
    notifier.clock.catch_up()  # the notice was queued at the database's now()
    await notifier.dispatcher.dispatch_once()
    notice = receiver.received[-1]
    assert notice.verify(watcher_secret)["data"]["endpoint_id"] == str(failing)  # type: ignore[index]
    assert len(receiver.received) == 5
    statuses = {(await delivery_row(notifier, d))["status"] for d in (first, second)}
    assert statuses == {"pending"}


async def test_a_rotated_secret_and_the_previous_one_both_verify(
    notifier: Notifier, receiver: Receiver
) -> None:
    endpoint, old = await notifier.endpoint(receiver.url, COMPLETED)
    rotated = await rotate_secret(
        notifier.pool,
        notifier.box,
        notifier.account,
        endpoint,
        overlap=timedelta(seconds=60),
        now=notifier.clock.now,
    )
    assert rotated is not None
    new, _ = rotated
    await queue(notifier, endpoint)
    with capture_logs() as logs:
        await notifier.dispatcher.dispatch_once()
        notifier.clock.advance(61)  # the overlap is over: only the new secret signs
        await queue(notifier, endpoint)
        await notifier.dispatcher.dispatch_once()

    during, after = receiver.received
    assert during.verify(old) and during.verify(new)
    assert after.verify(new)
    with pytest.raises(Exception, match="signature"):
        after.verify(old)
    for secret in (old, new):
        assert secret.removeprefix("whsec_") not in repr(logs)


async def test_finished_deliveries_are_purged_after_the_retention(
    notifier: Notifier, receiver: Receiver
) -> None:
    endpoint, _ = await notifier.endpoint(receiver.url, COMPLETED)
    old, recent, waiting = [await queue(notifier, endpoint) for _ in range(3)]
    for delivery, age_days in ((old, 31), (recent, 29)):  # the retention is 30 days
        await notifier.pool.execute(
            "UPDATE webhook_deliveries SET status = 'succeeded', completed_at = $2 WHERE id = $1",
            delivery,
            notifier.clock.now - timedelta(days=age_days),
        )

    assert await notifier.dispatcher.purge() >= 1

    left = await notifier.pool.fetch(
        "SELECT id FROM webhook_deliveries WHERE endpoint_id = $1", endpoint
    )
    assert {r["id"] for r in left} == {recent, waiting}
