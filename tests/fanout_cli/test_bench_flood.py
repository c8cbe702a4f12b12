"""`fanout bench webhook-flood` and `fanout bench resolvers`: what they post, keep and check
without a stack (their runs on the suite's stack: tests/e2e/test_scaling_benches.py)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from fanout_cli.bench.resolvers import LogTail, ResolversPlan, check_step
from fanout_cli.bench.sweep import thin
from fanout_cli.bench.webhook_flood import MIX, expected_ids, flood_events, flood_posts
from fanout_cli.stack.components import service_named
from fanout_cli.stack.instances import Instance
from services.webhook_ingest.normalize import normalise
from services.webhook_ingest.providers.base import Unauthorized
from services.webhook_ingest.providers.simulator import SimulatorProvider
from shared.contracts.fast_events import FastEvent


async def test_flood_posts_pass_webhook_ingests_own_verification() -> None:
    account, campaign = uuid4(), uuid4()
    events = flood_events(account, campaign, 250)
    posts = flood_posts("flood-secret", events, 100)
    assert [p.events for p in posts] == [100, 100, 50]
    provider = SimulatorProvider("flood-secret", tolerance_s=300)
    emitted: list[FastEvent] = []
    for post in posts:
        body, headers = post.make()
        normalised = normalise(provider.parse(await provider.verify(headers, body)).events)
        assert normalised.rejected == [] and normalised.unattributed == 0
        emitted += normalised.events
    assert {e.event_id for e in emitted} == expected_ids(events)
    assert len(emitted) == 250 and len({e.email for e in emitted}) == 250
    assert {(e.account_id, e.campaign_id) for e in emitted} == {(account, campaign)}
    hundred = Counter((e.type.value, e.bounce_type) for e in emitted[:100])
    assert hundred == {(kind, bounce): count for kind, bounce, count in MIX}


async def test_flood_posts_signed_with_another_secret_are_refused() -> None:
    [post] = flood_posts("not-the-stacks", flood_events(uuid4(), uuid4(), 3), 50)
    body, headers = post.make()
    with pytest.raises(Unauthorized):
        await SimulatorProvider("the-stacks", tolerance_s=300).verify(headers, body)


def test_thin_keeps_a_point_every_half_second_and_the_last() -> None:
    timeline = [(0.25 * i, i) for i in range(9)] + [(2.1, 9)]
    assert [t for t, _ in thin(timeline)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.1]
    assert thin([]) == []


def test_log_tail_reads_only_what_was_logged_since(tmp_path: Path) -> None:
    instance = Instance(service_named("lead_resolver"), 2)
    log = instance.process(tmp_path).log_file
    log.parent.mkdir(parents=True)
    log.write_text(json.dumps({"event": "resolver.owns", "partitions": [0, 1, 2]}) + "\n")
    tail = LogTail(instance, tmp_path)
    with log.open("a") as more:
        more.write("not json\n" + json.dumps({"event": "resolver.owns", "partitions": [3]}) + "\n")
    assert tail.events("resolver.owns") == [{"event": "resolver.owns", "partitions": [3]}]
    log.write_text(json.dumps({"event": "resolver.owns", "partitions": [4]}) + "\n")  # rotated
    assert tail.events("resolver.owns") == [{"event": "resolver.owns", "partitions": [4]}]


def _campaign(name: str, by: str, leads: int = 100, twice: int = 0) -> dict[str, Any]:
    sends = {"leads": leads, "batches": 2, "leads_in_two_batches": twice, "records_repeated": 0}
    return {"campaign_id": name, "owner": by, "resolved_by": by, "sends": sends}


def _verdict(matched: int = 100, reasons: list[str] | None = None) -> dict[str, Any]:
    judged = {"matched": matched, "outcomes": {"sent": matched, "excluded": 0}, "reasons": []}
    return {"campaigns": [judged, judged], "reasons": reasons or [], "passed": not reasons}


def test_resolvercheck_step_pass_when_each_instance_resolved_its_leads_once() -> None:
    campaigns = [_campaign("a", "lead-resolver"), _campaign("b", "lead-resolver-2")]
    leads_by = {"lead-resolver": 100, "lead-resolver-2": 100}
    plan = ResolversPlan(campaigns=2, leads=100)
    assert check_step(plan, campaigns, _verdict(), leads_by) == {"passed": True, "reasons": []}


def test_resolvercheck_step_name_a_lead_twice_an_idle_instance_and_the_verdict() -> None:
    campaigns = [_campaign("a", "lead-resolver", twice=1), _campaign("b", "lead-resolver")]
    leads_by = {"lead-resolver": 200, "lead-resolver-2": 0}
    plan = ResolversPlan(campaigns=2, leads=100)
    checked = check_step(plan, campaigns, _verdict(reasons=["funnel ≠ ESP"]), leads_by)
    assert not checked["passed"]
    reasons = " | ".join(checked["reasons"])
    assert "funnel ≠ ESP" in reasons
    assert "a: {'leads': 100" in reasons and "'leads_in_two_batches': 1" in reasons
    assert "not every instance" in reasons
