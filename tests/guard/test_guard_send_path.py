"""A campaign to a list with 8 % bad addresses, through the whole send path and the guard.

lead_resolver, sender, webhook_ingest and the guard run as processes; the ESP simulator
hard-bounces 8 % of what it accepts and posts its webhooks to webhook_ingest; campaign_api
serves in-process (its commands published as its relay would). The account's guard has
the default lines (hard-bounce rate above 5 % after 1,000 outcomes). The list has 30,000
leads, so unguarded it would hard-bounce about 2,400 times: the guard must pause it before
2,000 hard bounces, counting every hard bounce of what was sent before the pause took
hold, not only those the guard had counted when it decided. The reason is shown by
`GET /campaigns/{id}` and `fanout campaign show` (and stops `make demo`'s progress
bar with it); a resume without the override is refused
(409, nothing changes); with `--override-guard` the campaign completes and every lead ends
with exactly one terminal outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from rich.console import Console
from typer import Typer
from typer.testing import CliRunner

from fanout_cli.api_client import api_client
from fanout_cli.campaign.cli import campaign_app
from fanout_cli.demo.run import follow_campaign
from fanout_cli.stack.errors import StackError
from services.campaign_api.config import Settings as ApiSettings
from services.campaign_api.main import create_app
from services.esp_simulator.testing import posting_webhooks, running_simulator, serving
from shared.contracts import CampaignCommand, decode
from shared.kafka.producer import make_producer
from shared.reputation import GuardThresholds
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests import factories
from tests.domains import LocalDns, verified_domain
from tests.ports import free_port
from tests.send_path import (
    StartService,
    assert_exactly_one_outcome,
    healthy,
    publish_command,
    read_events,
    seed_campaign,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

LEADS = 30_000  # 8 % of it, 2,400, is more than the 2,000
HARD_BOUNCES_BOUND = 2_000
TERMINAL = {"sent", "failed", "suppressed", "cancelled"}
TAKE_COMMAND = """
UPDATE outbox SET published_at = now()
WHERE key = $1 AND published_at IS NULL RETURNING payload
"""


@pytest.fixture
async def api(settings: CommonSettings, local_dns: LocalDns) -> AsyncIterator[str]:
    """campaign_api in-process on a free port (no relay: the test publishes commands)."""
    app = create_app(ApiSettings(common=settings, domains=local_dns.settings))
    async with app.router.lifespan_context(app), serving(app, lifespan=False) as url:
        yield url


async def cli(*args: str) -> tuple[int, str]:
    """`fanout campaign ...` in a thread (the app it calls is served by this loop)."""
    app = Typer()
    app.add_typer(campaign_app, name="campaign")
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["campaign", *args], env={"COLUMNS": "400"}
    )
    return result.exit_code, result.output


async def relay_command(pool: asyncpg.Pool, settings: CommonSettings, campaign: object) -> None:
    """Publish the command the API wrote to its outbox, as its relay would."""
    [payload] = [r["payload"] for r in await pool.fetch(TAKE_COMMAND, str(campaign).encode())]
    command = decode(CampaignCommand, payload)
    producer = make_producer(settings)
    await producer.start()
    try:
        topic = topic_name(Topic.CAMPAIGN_LAUNCHES, settings.topic_prefix)
        await producer.send_and_wait(topic, payload, key=command.key())
    finally:
        await producer.stop()


async def test_guard_pauses_a_bouncing_list_and_override_completes_it(
    pool: asyncpg.Pool, settings: CommonSettings, start: StartService, api: str, local_dns: LocalDns
) -> None:
    ingest = free_port()
    knobs = posting_webhooks(
        f"http://127.0.0.1:{ingest}/webhooks/simulator", hard_bounce_rate=0.08, seed=16
    )
    account = await factories.account(pool)
    assert GuardThresholds().min_outcomes == 1_000  # the default lines, unchanged
    async with running_simulator(knobs) as simulator:
        domain = await verified_domain(pool, account.id, local_dns)  # a resume checks it
        seeded = await seed_campaign(
            pool, matching=LEADS, account_id=account.id, from_email=f"news@{domain}"
        )
        services = [
            start(
                "webhook_ingest",
                FANOUT_WEBHOOK_INGEST_PORT=str(ingest),
                FANOUT_WEBHOOK_INGEST_PROVIDERS='["simulator"]',
            ),
            start(
                "guard", FANOUT_GUARD_PORT=str(free_port()), FANOUT_GUARD_BATCH_MAX_SECONDS="0.2"
            ),
            start(
                "sender",
                FANOUT_SENDER_SIMULATOR_URL=simulator,
                FANOUT_SENDER_RATE_BUDGETS='{"simulator": 2000}',
            ),
            start("lead_resolver"),
        ]
        for service in services:
            await healthy(service)
        await publish_command(settings, seeded)

        paused = await wait_for(pool, seeded.campaign_id, {"paused", "completed"}, timeout=180)
        counts = await _guard_counts(pool, seeded.campaign_id)
        assert paused["state"] == "paused", paused
        # what was in flight when the pause took hold has its outcomes and its webhooks
        settled = await _settled_hard_bounces(settings, seeded.campaign_id)
        print(  # noqa: T201 - the figures of the run, in the test's output
            f"guard: paused after {counts['outcomes']} outcomes counted, "
            f"{counts['bounced_hard']} of them hard bounces; {settled['sent']} sent and "
            f"{settled['hard']} hard bounces before the resume, of {LEADS} leads"
        )
        assert counts["outcomes"] >= GuardThresholds().min_outcomes
        assert settled["hard"] < HARD_BOUNCES_BOUND, settled
        assert settled["sent"] < LEADS // 2, settled  # paused early, not near the end
        reason = paused["guard_reason"]
        assert reason.startswith("paused by guard: hard-bounce rate ")
        assert reason.endswith("(limit 5 %)")

        headers = {"Authorization": f"Bearer {account.key}"}
        async with httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http:
            shown = (await http.get(f"/campaigns/{seeded.campaign_id}")).json()
            assert shown["state"] == "paused" and shown["guard"]["reason"] == reason
            refused = await http.post(f"/campaigns/{seeded.campaign_id}/resume")
            assert refused.status_code == 409, refused.text
            assert "override_guard=true" in refused.json()["detail"]
            assert refused.json()["extra"]["guard_reason"] == reason
        # `make demo` following a campaign the guard paused stops, naming the reason and the fix
        with pytest.raises(StackError) as stopped:
            follow = api_client(api, account.key)
            await asyncio.to_thread(follow_campaign, follow, seeded.campaign_id, Console())
        assert str(stopped.value) == (
            f"campaign {seeded.campaign_id} {reason}; to send it anyway: fanout campaign resume "
            f"{seeded.campaign_id} --override-guard (docs/deliverability.md)"
        )
        who = ["--api-key", account.key, "--url", api]
        code, output = await cli("show", str(seeded.campaign_id), *who)
        assert code == 0, output
        assert "paused by guard: hard-bounce rate" in output and "--override-guard" in output
        code, output = await cli("resume", str(seeded.campaign_id), *who)
        assert code == 1 and "override_guard=true" in " ".join(output.split())
        assert (await _state(pool, seeded.campaign_id))["state"] == "paused"  # nothing changed

        code, output = await cli("resume", str(seeded.campaign_id), "--override-guard", *who)
        assert code == 0, output
        resumed = await _state(pool, seeded.campaign_id)
        assert resumed["guard_reason"] is None and resumed["guard_override_at"] is not None
        await relay_command(pool, settings, seeded.campaign_id)
        done = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=120)
    assert done["state"] == "completed", done
    events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
    assert_exactly_one_outcome([e for e in events if e.type.value in TERMINAL], seeded)
    assert done["sent"] == LEADS


async def _settled_hard_bounces(settings: CommonSettings, campaign: object) -> dict[str, int]:
    """Sent and hard-bounced emails of the paused campaign once they stop growing (the
    batches in flight at the pause have their outcomes, the simulator its webhooks)."""
    last: dict[str, int] = {}
    for _ in range(60):
        events = [e for e in await read_events(settings) if e.campaign_id == campaign]
        now = {
            "sent": sum(e.type.value == "sent" for e in events),
            "hard": sum(e.type.value == "bounced" and e.bounce_type == "hard" for e in events),
        }
        if now == last:
            return now
        last = now
        await asyncio.sleep(2)
    raise AssertionError(f"the paused campaign's events kept growing: {last}")


async def _guard_counts(pool: asyncpg.Pool, campaign: object) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT outcomes, bounced_hard FROM guard_campaign_counts WHERE campaign_id = $1",
        campaign,
    )
    assert row is not None
    return dict(row)


async def _state(pool: asyncpg.Pool, campaign: object) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign)
    assert row is not None
    return dict(row)
