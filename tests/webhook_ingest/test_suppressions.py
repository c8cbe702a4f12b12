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


def _kinds(ids: Ids, kinds: list[str], email: str = "lead@example.com") -> list[dict[str, Any]]:
    events = [_event(ids, k, n, email) for n, k in enumerate(kinds)]
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
    await _post(ingest, _kinds(ids, ["soft_bounce", "soft_bounce"]))
    assert await ingest.suppressed(ids.account_id) == {}


async def test_soft_bounces_in_one_request_after_delivery(ingest: Ingest, ids: Ids) -> None:
    await _post(ingest, _kinds(ids, ["soft_bounce", "soft_bounce"]))
    await _post(ingest, _kinds(ids, ["delivered", "soft_bounce", "soft_bounce", "soft_bounce"]))
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
