"""`/readyz` of a consuming service says whether its consumer is consuming (why not: the log)."""

from __future__ import annotations

import httpx
from structlog.testing import capture_logs

from shared.service.health import operations_app
from tests.shared.kafka.fakes import P0, Harness, PinnedClock, eventually
from tests.shared.kafka.test_runner import Claims

TOKEN = "ops-token-for-tests"


async def _readyz(harness: Harness) -> httpx.Response:
    app = operations_app("test", {"consumer": harness.runner.check}, ops_token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/readyz", headers={"Authorization": f"Bearer {TOKEN}"})


async def test_readyz_shows_consumer_consuming_then_stalled() -> None:
    clock = PinnedClock()
    kafka = Harness(lambda ctx: Claims(ctx, {}), initial={P0}, clock=clock, stall_after_s=30.0)
    kafka.broker_answers = False  # the broker is down: the watchdog keeps the consumer
    kafka.probe_answers.clear()  # and its probe waits meanwhile: only readiness changes
    running = kafka.start()
    await eventually(lambda: kafka.runner.assignment == {P0})

    ready = await _readyz(kafka)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"consumer": "ok"}

    clock.now += 45
    with capture_logs() as logs:
        stalled = await _readyz(kafka)
    assert stalled.status_code == 503
    assert stalled.json()["checks"] == {"consumer": "unavailable"}
    [why] = [e["error"] for e in logs if e["event"] == "readiness.unavailable"]
    assert why == ("ConsumerNotConsuming: stalled: fetching, 1 partitions, last progress 45 s ago")
    kafka.probe_answers.set()
    assert await running.stop() is None
