"""Receiving-domain throttling through the real send path: the simulator defers gmail.com
above its rate (421 4.7.28), the sender's configured gmail limit is twice that so its AIMD
has to find the domain's rate, and the other domains of the same campaign go at full
speed. Nothing is lost to the deferrals: every lead ends with exactly one outcome, every
email is accepted once.

The issue's figures: gmail.com deferred above 200/s, one lead in five at gmail.com (3,000
of 15,000: 15 s at its rate), the others (12,000) free to go as fast as the send path
can. The figures per domain (accepted, deferred, steady rate, busiest second) are
printed (`-s`); docs/deliverability.md quotes runs.
"""

from __future__ import annotations

import json

import asyncpg
import pytest

from services.esp_simulator.config import Settings as SimulatorSettings
from services.esp_simulator.testing import running_simulator
from shared.settings import CommonSettings
from tests.send_path import (
    StartService,
    assert_exactly_one_outcome,
    healthy,
    publish_command,
    read_events,
    seed_campaign,
    simulator_counters,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

GMAIL_RATE = 200
# one lead in five at gmail.com: 3,000 of 15,000 (15 s at 200/s), 6,000 each at the others
DOMAINS = ("gmail.com", "example.org", "example.net", "example.org", "example.net")
LEADS = 15_000
BURST_S = 0.5  # the simulator's bucket, half a second of the rate (the sender's bursts: 0.25 s)
SENDER_LIMITS = [{"domains": ["gmail.com", "googlemail.com"], "rate_per_s": 2 * GMAIL_RATE}]


def steady_rate(counts: dict[str, float]) -> float:
    """Accepted per second between a domain's first and last accepted email."""
    span = counts["last_accepted_at"] - counts["first_accepted_at"]
    return counts["accepted"] / span if span > 0 else float("inf")


async def test_gmail_held_at_its_rate_while_other_domains_go_at_full_speed(
    pool: asyncpg.Pool, settings: CommonSettings, start: StartService
) -> None:
    knobs = SimulatorSettings(
        webhook_url="",
        seed=9,
        domain_rate_limits={"gmail.com": GMAIL_RATE},
        rate_burst_s=BURST_S,
    )
    async with running_simulator(knobs) as simulator:
        seeded = await seed_campaign(pool, matching=LEADS, domains=DOMAINS)
        sender = start(
            "sender",
            FANOUT_SENDER_SIMULATOR_URL=simulator,
            FANOUT_SENDER_DOMAIN_LIMITS=json.dumps(SENDER_LIMITS),
        )
        resolver = start("lead_resolver")
        for service in (sender, resolver):
            await healthy(service)
        await publish_command(settings, seeded)
        row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=240)
        counters = await simulator_counters(simulator)
    assert row["state"] == "completed", row
    events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
    assert_exactly_one_outcome(events, seeded)
    assert (row["sent"], row["failed"]) == (LEADS, 0)
    assert counters["unique"] == LEADS and counters["duplicates"] == 0

    domains = counters["domains"]
    lines = [
        f"{name}: {d['accepted']} accepted at {steady_rate(d):.0f}/s steady, busiest second "
        f"{d['peak_accepted_per_s']}, {d['deferred']} deferred (421 4.7.28)"
        for name, d in sorted(domains.items())
    ]
    print("domain throttle: " + "; ".join(lines))  # noqa: T201 - the measurement
    gmail = domains["gmail.com"]
    assert gmail["accepted"] == LEADS // 5
    assert steady_rate(gmail) <= GMAIL_RATE * 1.05
    assert gmail["peak_accepted_per_s"] <= GMAIL_RATE * (1 + BURST_S) + 1  # its bucket
    assert gmail["deferred"] > 0  # the sender's 400/s was too much: AIMD found the rate
    others = [domains[name] for name in DOMAINS[1:]]
    assert all(d["deferred"] == 0 for d in others)
    # the other domains were not held back to gmail.com's pace: each went at least three
    # times as fast (twice its share of the list) and was done well before gmail.com
    assert all(steady_rate(d) >= 3 * steady_rate(gmail) for d in others)
    assert all(d["last_accepted_at"] < gmail["last_accepted_at"] - 3 for d in others)
