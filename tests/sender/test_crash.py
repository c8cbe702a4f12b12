"""SIGKILL of the sender mid-campaign while bounce and complaint webhooks flow.

The sender is killed while the ESP owes webhooks that suppress addresses (hard bounces,
complaints of emails it accepted); every one of them suppresses its address before the
sender is back. Every matched lead still ends with exactly one terminal outcome; the
reports' `sent` equals the simulator's unique accepted emails and the campaign's counter;
only calls in flight at the kill are repeated. The waits are bounded by progress (the
campaign's counters, the webhooks), not by wall time: a loaded machine is slow, not wrong.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.esp_simulator.testing import posting_webhooks, running_simulator
from shared.settings import CommonSettings
from tests.ports import free_port
from tests.send_path import (
    StartService,
    assert_exactly_one_outcome,
    campaign,
    publish_command,
    read_events,
    seed_campaign,
    simulator_counters,
)
from tests.sender.reports import funnel_of
from tests.waiting import until_progressing, wait_healthy

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.clickhouse, pytest.mark.slow]

MAX_IN_FLIGHT = 32
MATCHED = 4_000
# outcomes come back half a second after acceptance: while the sender sends, the ESP
# always owes the webhooks of its last half second of emails
OUTCOME_DELAY_MS = 500


async def suppressed_so_far(pool: asyncpg.Pool, account_id: object) -> int:
    return int(
        await pool.fetchval("SELECT count(*) FROM suppressions WHERE account_id = $1", account_id)
    )


def suppressing(counters: dict[str, Any]) -> int:
    """Outcomes the simulator decided that suppress an address (each lead has its own)."""
    return int(counters["outcomes"]["bounced_hard"] + counters["outcomes"]["complained"])


async def test_sender_sigkill_with_webhooks_flowing_counts_every_lead_once(
    pool: asyncpg.Pool, settings: CommonSettings, start: StartService, tmp_path: Path
) -> None:
    ingest = free_port()
    knobs = posting_webhooks(
        f"http://127.0.0.1:{ingest}/webhooks/simulator",
        hard_bounce_rate=0.15,
        complaint_rate=0.05,
        latency_p50_ms=20,
        outcome_delay_ms=OUTCOME_DELAY_MS,
    )
    async with running_simulator(knobs) as simulator:
        seeded = await seed_campaign(pool, matching=MATCHED)
        sender_env = {
            "FANOUT_SENDER_SIMULATOR_URL": simulator,
            "FANOUT_SENDER_RATE_BUDGETS": '{"simulator": 1500}',
            "FANOUT_SENDER_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
        }
        webhooks = start(
            "webhook_ingest",
            FANOUT_WEBHOOK_INGEST_PORT=str(ingest),
            FANOUT_WEBHOOK_INGEST_PROVIDERS='["simulator"]',
        )
        await wait_healthy(f"http://127.0.0.1:{ingest}", details=webhooks.log_tail)
        sender = start("sender", **sender_env)
        start("lead_resolver")
        await publish_command(settings, seeded)

        async def suppressions() -> int:
            return await suppressed_so_far(pool, seeded.account_id)

        async def sending() -> tuple[object, ...]:
            row = await campaign(pool, seeded.campaign_id)
            counts = (row["sent"], row["failed"], row["suppressed"], row["cancelled"])
            return row["state"], counts, await suppressions()

        owed_at_kill = 0

        async def flowing() -> bool:
            """30 % sent, addresses suppressed, and webhooks that suppress still owed."""
            nonlocal owed_at_kill
            if (await campaign(pool, seeded.campaign_id))["sent"] < MATCHED * 0.3:
                return False
            suppressed = await suppressions()
            owed_at_kill = suppressing(await simulator_counters(simulator)) - suppressed
            return suppressed > 0 and owed_at_kill > 0

        await until_progressing(flowing, sending, "30 % sent with webhooks suppressing")
        sender.kill()

        delivered: tuple[int, int] = (0, 0)  # (suppressing outcomes decided, suppressed)

        async def webhooks_delivered() -> bool:
            nonlocal delivered
            counters = await simulator_counters(simulator)
            delivered = (suppressing(counters), await suppressions())
            return counters["webhooks"]["events_pending"] == 0 and delivered[0] == delivered[1]

        async def delivering() -> tuple[object, ...]:
            counters = await simulator_counters(simulator)
            return counters["webhooks"], await suppressions()

        # the webhooks owed at the kill still arrive, each suppressing its address
        await until_progressing(webhooks_delivered, delivering, "webhooks delivered")
        assert owed_at_kill > 0 and delivered[1] == delivered[0] > 0
        start("sender", **sender_env)

        async def finished() -> bool:
            return (await campaign(pool, seeded.campaign_id))["state"] in {"completed", "failed"}

        await until_progressing(finished, sending, "end of the campaign")
        row = await campaign(pool, seeded.campaign_id)
        counters = await simulator_counters(simulator)
    events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
    outcomes = [e for e in events if e.type.value in {"sent", "failed", "suppressed", "cancelled"}]
    assert_exactly_one_outcome(outcomes, seeded)
    kinds = defaultdict(set)
    for e in outcomes:
        kinds[e.lead_id].add(e.type.value)
    assert all(len(k) == 1 for k in kinds.values()), "a lead with two different outcomes"
    funnel, _ = await funnel_of(events, tmp_path / "chdb", seeded)
    terminal = funnel.sent + funnel.failed + funnel.suppressed + funnel.cancelled
    assert row["state"] == "completed" and terminal == row["matched"] == MATCHED
    assert funnel.sent == counters["unique"] == row["sent"]
    assert counters["duplicates"] <= MAX_IN_FLIGHT * 50
    owed, duplicates = owed_at_kill, counters["duplicates"]
    print(f"sender SIGKILL: {owed} suppressing webhooks owed, {duplicates} duplicate sends")  # noqa: T201
