"""The send path end to end: resolver and sender processes, the real broker, the simulator."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from services.esp_simulator.config import Settings as SimulatorSettings
from services.esp_simulator.testing import running_simulator
from shared.contracts import EmailEvent
from shared.settings import CommonSettings
from tests.sender.harness import (
    Seeded,
    Service,
    publish_command,
    read_events,
    seed_campaign,
    service_env,
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
