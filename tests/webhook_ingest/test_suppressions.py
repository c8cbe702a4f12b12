"""Suppressions from events: at once for hard bounces, complaints, unsubscribes; soft bounces
after the threshold in a row; a delivery resets the run; retries change nothing."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests.webhook_ingest.conftest import Ids, Ingest
from tests.webhook_ingest.keys import sign_simulator

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _event(ids: Ids, kind: str, n: int, email: str = "lead@example.com") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "message_id": "<m@fanout.local>",
        "provider_message_id": f"sim-{n}",
        "recipient": email,
        "occurred_at": (START + timedelta(minutes=n)).isoformat(),
        "bounce_type": {"soft_bounce": "soft", "hard_bounce": "hard"}.get(kind),
        "reason": "",
        "metadata": ids.metadata(),
    }


def _kinds(
    ids: Ids, kinds: list[str], email: str = "lead@example.com", first: int = 0
) -> list[dict[str, Any]]:
    """Events of `kinds`, one a minute from minute `first`."""
    events = [_event(ids, k, first + n, email) for n, k in enumerate(kinds)]
    for event in events:
        if event["type"] in ("soft_bounce", "hard_bounce"):
            event["type"] = "bounced"
    return events


async def _post(ingest: Ingest, events: list[dict[str, Any]]) -> None:
    body = orjson.dumps({"events": events})
    headers = sign_simulator(ingest.secret, int(time.time()), body)
    response = await ingest.client.post("/webhooks/simulator", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def _run(ingest: Ingest, ids: Ids) -> int | None:
    value: int | None = await ingest.pool.fetchval(
        "SELECT consecutive FROM soft_bounces WHERE account_id = $1", ids.account_id
    )
    return value


async def test_soft_bounces_suppress_after_threshold(ingest: Ingest, ids: Ids) -> None:
    events = _kinds(ids, ["soft_bounce"] * 3)
    await _post(ingest, events[:1])
    await _post(ingest, events[1:2])
    assert await ingest.suppressed(ids.account_id) == {}
    assert await _run(ingest, ids) == 2
    await _post(ingest, events[2:])
    assert await ingest.suppressed(ids.account_id) == {"lead@example.com": "soft_bounce"}


async def test_soft_bounce_retried_counts_once(ingest: Ingest, ids: Ids) -> None:
    events = _kinds(ids, ["soft_bounce", "soft_bounce"])
    await _post(ingest, events)
    await _post(ingest, events)
    await _post(ingest, events[1:])
    assert await _run(ingest, ids) == 2
    assert await ingest.suppressed(ids.account_id) == {}


async def test_delivery_resets_soft_bounce_run(ingest: Ingest, ids: Ids) -> None:
    await _post(ingest, _kinds(ids, ["soft_bounce", "soft_bounce"]))
    await _post(ingest, [_event(ids, "delivered", 5)])
    assert await _run(ingest, ids) == 0
    await _post(ingest, _kinds(ids, ["soft_bounce", "soft_bounce"], first=6))
    assert await _run(ingest, ids) == 2
    assert await ingest.suppressed(ids.account_id) == {}


async def test_soft_bounces_in_one_request_after_delivery(ingest: Ingest, ids: Ids) -> None:
    await _post(ingest, _kinds(ids, ["soft_bounce", "soft_bounce"]))
    later = ["delivered", "soft_bounce", "soft_bounce", "soft_bounce"]
    await _post(ingest, _kinds(ids, later, first=2))
    assert await _run(ingest, ids) == 3
    assert await ingest.suppressed(ids.account_id) == {"lead@example.com": "soft_bounce"}


async def test_hard_bounce_and_complaint_suppress_at_once(ingest: Ingest, ids: Ids) -> None:
    events = _kinds(ids, ["hard_bounce"], "hard@example.com")
    events += _kinds(ids, ["complained"], "Complainer@Example.com")
    await _post(ingest, events)
    assert await ingest.suppressed(ids.account_id) == {
        "hard@example.com": "hard_bounce",
        "complainer@example.com": "complaint",
    }
    sources = await ingest.pool.fetch(
        "SELECT DISTINCT source FROM suppressions WHERE account_id = $1", ids.account_id
    )
    assert [r["source"] for r in sources] == ["webhook:simulator"]


async def test_large_batch_suppresses_every_address(ingest: Ingest, ids: Ids) -> None:
    events = [_event(ids, "bounced", n, f"lead{n}@example.com") for n in range(500)]
    for event in events:
        event["bounce_type"] = "hard"
    await _post(ingest, events)
    assert len(await ingest.suppressed(ids.account_id)) == 500


async def test_unknown_account_is_emitted_but_not_suppressed(ingest: Ingest, ids: Ids) -> None:
    stranger = Ids(uuid.uuid4(), ids.campaign_id, ids.lead_id)
    await _post(ingest, _kinds(stranger, ["hard_bounce"]))
    assert len(await ingest.emitted(1)) == 1
    assert await ingest.suppressed(stranger.account_id) == {}


async def test_soft_bounce_replayed_out_of_order_counts_once(ingest: Ingest, ids: Ids) -> None:
    first, second = _kinds(ids, ["soft_bounce", "soft_bounce"])
    await _post(ingest, [first])
    await _post(ingest, [second])
    await _post(ingest, [first])  # a replay of an earlier bounce, not the last one counted
    assert await _run(ingest, ids) == 2
    assert await ingest.suppressed(ids.account_id) == {}


async def test_soft_bounces_arriving_out_of_order_count_once_each(ingest: Ingest, ids: Ids) -> None:
    events = _kinds(ids, ["soft_bounce"] * 3)
    for event in [events[2], events[0], events[2], events[1], events[0]]:
        await _post(ingest, [event])
    assert await _run(ingest, ids) == 3
    assert await ingest.suppressed(ids.account_id) == {"lead@example.com": "soft_bounce"}


async def test_late_delivery_resets_only_the_bounces_before_it(ingest: Ingest, ids: Ids) -> None:
    before, after = _event(ids, "bounced", 1), _event(ids, "bounced", 3)
    for event in (before, after):
        event["bounce_type"] = "soft"
    await _post(ingest, [before, after])
    await _post(ingest, [_event(ids, "delivered", 2)])  # delivered between them, reported late
    assert await _run(ingest, ids) == 1
    await _post(ingest, [before])  # and a replay of the bounce before the delivery
    assert await _run(ingest, ids) == 1
