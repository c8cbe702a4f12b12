"""The send path end to end: resolver and sender processes, the real broker, the simulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from services.esp_simulator.config import Settings as SimulatorSettings
from services.esp_simulator.testing import running_simulator
from shared.contracts import CommandKind, EmailEvent
from shared.settings import CommonSettings
from tests.sender.harness import (
    Seeded,
    Service,
    campaign,
    configure_simulator,
    publish_command,
    read_events,
    seed_campaign,
    service_env,
    set_state,
    simulator_counters,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

StartService = Callable[..., Service]


@pytest.fixture
async def simulator() -> AsyncIterator[str]:
    """The ESP simulator in-process on a free port, no webhooks."""
    async with running_simulator(SimulatorSettings(webhook_url="", seed=7)) as base_url:
        yield base_url


@pytest.fixture
def start(settings: CommonSettings, simulator: str, tmp_path: Path) -> Iterator[StartService]:
    """Start `lead_resolver` or `sender` processes; all stopped at the end of the test."""
    started: list[Service] = []

    def start_service(name: str, **env: str) -> Service:
        extra = {"FANOUT_SENDER_SIMULATOR_URL": simulator, **env}
        service = Service(name, service_env(settings, **extra), tmp_path).start()
        started.append(service)
        return service

    yield start_service
    for service in started:
        service.stop()


def outcomes_by_lead(events: list[EmailEvent], seeded: Seeded) -> Counter[object]:
    """How many distinct outcome events each lead of the campaign got."""
    ids = {(e.lead_id, e.event_id) for e in events if e.campaign_id == seeded.campaign_id}
    return Counter(lead for lead, _ in ids)


def assert_exactly_one_outcome(events: list[EmailEvent], seeded: Seeded) -> None:
    """Every matching lead has exactly one outcome id; no other lead has any."""
    per_lead = outcomes_by_lead(events, seeded)
    assert set(per_lead) == seeded.matching, (
        f"missing {len(seeded.matching - set(per_lead))}, "
        f"unexpected {len(set(per_lead) - seeded.matching)}"
    )
    assert max(per_lead.values()) == 1


async def test_send_campaign_of_10k_leads(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    seeded = await seed_campaign(
        pool, matching=10_000, non_matching=500, suppressed=200, unsubscribed=100
    )
    start("sender")
    start("lead_resolver")
    began = time.monotonic()
    await publish_command(settings, seeded)
    row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=120)
    elapsed = time.monotonic() - began
    assert row["state"] == "completed"
    assert row["matched"] == 10_000
    assert row["sent"] == 10_000 and row["failed"] == 0
    events = await read_events(settings)
    assert_exactly_one_outcome(events, seeded)
    assert {e.type.value for e in events} == {"sent"}
    counters = await simulator_counters(simulator)
    assert counters["duplicates"] == 0
    assert counters["unique"] == 10_000
    print(f"10k campaign: {elapsed:.1f}s to completed, {10_000 / elapsed:.0f} emails/s")  # noqa: T201


async def test_send_campaign_under_throttling_and_transient_failures(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    await configure_simulator(
        simulator, throttle_429_rate=0.3, throttle_retry_after_s=0, transient_rate=0.05
    )
    seeded = await seed_campaign(pool, matching=2_000, non_matching=100)
    start("sender", FANOUT_SENDER_MAX_ATTEMPTS="15")
    start("lead_resolver")
    await publish_command(settings, seeded)
    row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=90)
    assert row["state"] == "completed"
    assert (row["matched"], row["sent"], row["failed"]) == (2_000, 2_000, 0)
    events = await read_events(settings)
    assert_exactly_one_outcome(events, seeded)
    counters = await simulator_counters(simulator)
    assert counters["throttled_calls"] > 0 and counters["transient"] > 0
    assert counters["duplicates"] == 0 and counters["unique"] == 2_000


async def test_send_campaign_survives_sigkill_of_sender_and_resolver(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    seeded = await seed_campaign(pool, matching=6_000, suppressed=50)
    rate = {"FANOUT_SENDER_RATE_BUDGETS": '{"simulator": 1500}'}
    window = {"FANOUT_LEAD_RESOLVER_WINDOW": "20", "FANOUT_LEAD_RESOLVER_PAGE_BATCHES": "5"}
    sender = start("sender", **rate)
    resolver = start("lead_resolver", **window)
    await publish_command(settings, seeded)
    while (await campaign(pool, seeded.campaign_id))["sent"] < 1_500:
        await asyncio.sleep(0.05)
    sender.kill()
    resolver.kill()
    before = await campaign(pool, seeded.campaign_id)
    assert before["state"] == "resolving"  # killed mid-stream, not after it
    start("sender", **rate)
    start("lead_resolver", **window)
    row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=90)
    assert row["state"] == "completed"
    assert (row["matched"], row["sent"]) == (6_000, 6_000)
    events = await read_events(settings)
    assert_exactly_one_outcome(events, seeded)
    counters = await simulator_counters(simulator)
    assert counters["unique"] == 6_000
    # only batches in flight at the kill can be resent: at most max_in_flight (32) × 50
    assert counters["duplicates"] <= 32 * 50
    print(f"kill/restart: simulator duplicates = {counters['duplicates']}")  # noqa: T201


async def test_pause_stops_within_window_and_resume_finishes(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    window, page = 4, 2
    seeded = await seed_campaign(pool, matching=3_000)
    start("sender", FANOUT_SENDER_RATE_BUDGETS='{"simulator": 500}')
    start(
        "lead_resolver",
        FANOUT_LEAD_RESOLVER_WINDOW=str(window),
        FANOUT_LEAD_RESOLVER_PAGE_BATCHES=str(page),
    )
    await publish_command(settings, seeded)
    while (await campaign(pool, seeded.campaign_id))["sent"] < 500:
        await asyncio.sleep(0.05)
    await set_state(pool, seeded, "paused", new_run=False)
    at_pause = await campaign(pool, seeded.campaign_id)
    await publish_command(settings, seeded, CommandKind.PAUSE)
    await asyncio.sleep(3)
    settled = await campaign(pool, seeded.campaign_id)
    unique_settled = (await simulator_counters(simulator))["unique"]
    await asyncio.sleep(1)
    assert (await simulator_counters(simulator))["unique"] == unique_settled  # stopped
    assert settled["state"] == "paused"
    # at most the page in progress is emitted after the pause ...
    assert settled["batches_emitted"] - at_pause["batches_emitted"] <= page
    # ... so at most W outstanding batches (+ that page) are still sent
    sent_after = unique_settled - at_pause["sent"]
    assert sent_after <= (window + page) * 50, sent_after
    assert settled["sent"] < 3_000

    await set_state(pool, seeded, "queued", new_run=True)
    await publish_command(settings, seeded, CommandKind.RESUME)
    row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=60)
    assert row["state"] == "completed" and row["sent"] == 3_000
    assert_exactly_one_outcome(await read_events(settings), seeded)
    counters = await simulator_counters(simulator)
    assert counters["duplicates"] == 0 and counters["unique"] == 3_000


async def test_cancel_campaign_gives_cancelled_outcomes_to_the_rest(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    seeded = await seed_campaign(pool, matching=3_000, non_matching=100)
    start("sender", FANOUT_SENDER_RATE_BUDGETS='{"simulator": 500}')
    start("lead_resolver", FANOUT_LEAD_RESOLVER_WINDOW="4", FANOUT_LEAD_RESOLVER_PAGE_BATCHES="2")
    await publish_command(settings, seeded)
    while (await campaign(pool, seeded.campaign_id))["sent"] < 300:
        await asyncio.sleep(0.05)
    await set_state(pool, seeded, "cancelled", new_run=False)
    await publish_command(settings, seeded, CommandKind.CANCEL)
    deadline = time.monotonic() + 60
    row = await campaign(pool, seeded.campaign_id)
    while not (row["resolve_done"] and row["sent"] + row["cancelled"] == row["matched"]):
        assert time.monotonic() < deadline, row
        await asyncio.sleep(0.2)
        row = await campaign(pool, seeded.campaign_id)
    assert row["state"] == "cancelled" and row["matched"] == 3_000
    assert row["cancelled"] > 1_000
    events = await read_events(settings)
    assert_exactly_one_outcome(events, seeded)
    types = Counter(e.type.value for e in events if e.campaign_id == seeded.campaign_id)
    assert types == {"sent": row["sent"], "cancelled": row["cancelled"]}
    assert (await simulator_counters(simulator))["unique"] == row["sent"]


async def test_two_campaigns_progress_together(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    first = await seed_campaign(pool, matching=3_000)
    second = await seed_campaign(pool, matching=3_000)
    start("sender", FANOUT_SENDER_RATE_BUDGETS='{"simulator": 1000}')
    start("lead_resolver", FANOUT_LEAD_RESOLVER_WINDOW="10")
    await publish_command(settings, first)
    await publish_command(settings, second)
    while (await campaign(pool, first.campaign_id))["sent"] + (
        await campaign(pool, second.campaign_id)
    )["sent"] < 1_000:
        await asyncio.sleep(0.05)
    early = [(await campaign(pool, s.campaign_id))["sent"] for s in (first, second)]
    assert min(early) >= 200, early  # both progress from the start, neither waits
    for seeded in (first, second):
        row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=60)
        assert row["state"] == "completed" and row["sent"] == 3_000
    events = await read_events(settings)
    assert_exactly_one_outcome(events, first)
    assert_exactly_one_outcome(events, second)


def assigned_partitions(service: Service) -> list[int]:
    """The partitions of the service's latest `sender.assigned` log line."""
    latest: list[int] = []
    for line in service.log_path.read_text(errors="replace").splitlines():
        if '"sender.assigned"' in line:
            latest = list(json.loads(line)["partitions"])
    return latest


async def test_two_senders_share_partitions_and_rate_budget(
    pool: asyncpg.Pool, settings: CommonSettings, simulator: str, start: StartService
) -> None:
    budget = 600
    rate = {"FANOUT_SENDER_RATE_BUDGETS": json.dumps({"simulator": budget})}
    senders = [start("sender", **rate), start("sender", **rate)]
    deadline = time.monotonic() + 60
    while not all(len(assigned_partitions(s)) == 6 for s in senders):
        assert time.monotonic() < deadline, [assigned_partitions(s) for s in senders]
        await asyncio.sleep(0.2)
    assert set(assigned_partitions(senders[0])).isdisjoint(assigned_partitions(senders[1]))
    seeded = await seed_campaign(pool, matching=4_000)
    start("lead_resolver")
    await publish_command(settings, seeded)
    row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=60)
    assert row["state"] == "completed" and row["sent"] == 4_000
    events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
    span = (max(e.occurred_at for e in events) - min(e.occurred_at for e in events)).total_seconds()
    # each instance may burst its bucket (≤ 200 emails) once; the rest is paced at the budget
    rate_seen = (len(events) - 2 * 200) / span
    print(f"two senders: {len(events)} emails in {span:.1f}s, {rate_seen:.0f}/s paced")  # noqa: T201
    assert rate_seen <= budget * 1.1
    assert rate_seen >= budget * 0.5  # both shares were used, not one instance's half
