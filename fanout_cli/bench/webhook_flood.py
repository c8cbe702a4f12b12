"""`fanout bench webhook-flood`: accepted webhook events per second with 1, 2, 3 …
webhook_ingest instances.

The flood is the ESP simulator's own webhooks, made by its own `SimulatorFormat`: posts of
E events signed with HMAC-SHA256 under the stack's FANOUT_SIMULATOR_WEBHOOK_SECRET and a
fresh timestamp at every attempt, which webhook_ingest verifies as it verifies the
simulator's. Each step's events belong to a new campaign id of the benchmark's own
account, one recipient each, in a fixed mix (`MIX`: deliveries, opens, clicks, 2 % hard
and 1 % soft bounces, 1 % complaints), so the suppressions path writes Postgres too.

webhook_ingest instances each listen on their own port (instance k on P + 10·(k − 1));
the flood spreads its posts over them round-robin, as a load balancer does in production
(the chart's Service), with at most C posts in flight per instance (a load balancer's
limit per backend). A post answered 503 or 429 is posted again after its Retry-After,
as providers do.

The bound, not the machine's cores: every instance runs with
FANOUT_WEBHOOK_INGEST_KAFKA_LINGER_MS = L, so its producer holds a request's events
about L before sending them, and a webhook is answered only once Kafka acknowledged its
events. An instance then accepts at most C × E events per L (C = 4, E = 50, L = 500 ms:
400 events/s) and n instances n times that, as long as the machine keeps up with n
times the parsing, verifying, Postgres and Kafka work.

Counted: events accepted by HTTP (200, every event of the post `emitted`) per second,
from the first answer to the last (and between 10 % and 90 % of the events). Checked
after every step: every posted event's id is on `email.events` (read from the ends
noted before the step), none missing, none unknown, and each instance's own /metrics
count the share of events it was sent.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from fanout_cli.bench.e2e import delete_account
from fanout_cli.bench.group import Instances, Sample
from fanout_cli.bench.sampler import Sampler
from fanout_cli.bench.scale import accepted_rate, steady_rate
from fanout_cli.bench.sweep import (
    Measure,
    Say,
    SweepResult,
    SweepStep,
    Timeline,
    sweep_rounds,
    thin,
)
from fanout_cli.demo.api_calls import checked_json
from fanout_cli.demo.run import new_account
from fanout_cli.stack.components import service_url
from fanout_cli.stack.errors import StackError
from fanout_cli.stack.secrets import stack_secret
from fanout_cli.topic_reading import end_offsets, records_since
from services.esp_simulator.events import AcceptedMessage, OutcomeEvent
from services.esp_simulator.protocol import MessageMetadata
from services.esp_simulator.webhooks import Post, SimulatorFormat
from shared.contracts.base import decode
from shared.contracts.events import EventBatch, provider_event_id
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name

PROVIDER = "simulator"
# One hundred events of the flood: (type, bounce type, how many).
MIX: tuple[tuple[str, str | None, int], ...] = (
    ("bounced", "hard", 2),
    ("bounced", "soft", 1),
    ("complained", None, 1),
    ("opened", None, 20),
    ("clicked", None, 3),
    ("delivered", None, 73),
)
KINDS = [(kind, bounce) for kind, bounce, count in MIX for _ in range(count)]
EMITTED = Sample(
    "fanout_webhook_events_total", (("provider", PROVIDER), ("disposition", "emitted"))
)


@dataclass(frozen=True)
class FloodPlan:
    """The sweep: instance counts, rounds, events per step, events per post, posts in
    flight per instance and the producer linger of every instance."""

    instances: tuple[int, ...] = (1, 2, 3)
    rounds: int = 3
    events: int = 24_000
    events_per_post: int = 50
    in_flight: int = 4
    linger_ms: int = 500

    def ceiling_per_s(self, instances: int) -> float:
        """Most events/s `instances` instances accept: C posts of E events per linger each."""
        return instances * self.in_flight * self.events_per_post / (self.linger_ms / 1000)

    def env(self) -> dict[str, str]:
        """Every webhook_ingest instance's environment for the flood."""
        return {"FANOUT_WEBHOOK_INGEST_KAFKA_LINGER_MS": str(self.linger_ms)}

    def measure(self) -> Measure:
        return Measure(
            benchmark="webhook-flood",
            noun="events",
            instance="webhook_ingest",
            counted="accepted: 200 once on email.events",
            title=f"Webhook flood: {self.events_per_post} events per post, "
            f"{self.in_flight} in flight, {self.linger_ms} ms linger",
            ceiling=f"ceiling: n × {self.in_flight} × {self.events_per_post} / linger",
        )


@dataclass
class Tally:
    """What the flood of one step got back."""

    started: float = field(default_factory=time.monotonic)
    accepted: int = 0
    retried: int = 0
    by_instance: Counter[str] = field(default_factory=Counter)
    timeline: Timeline = field(default_factory=list)

    def count(self, instance: str, events: int) -> None:
        self.accepted += events
        self.by_instance[instance] += events
        self.timeline.append((round(time.monotonic() - self.started, 3), self.accepted))


def flood_events(account: UUID, campaign: UUID, count: int) -> list[OutcomeEvent]:
    """`count` outcome events of `campaign`, one recipient each, in the proportions of MIX."""
    now, tag = time.time(), campaign.hex[:8]
    events = []
    for i in range(count):
        kind, bounce = KINDS[i % len(KINDS)]
        ids = MessageMetadata(account_id=account, campaign_id=campaign, lead_id=uuid.uuid4())
        message = AcceptedMessage(
            message_id=f"<{i}.{tag}@flood.bench>",
            provider_message_id=f"flood-{tag}-{i}",
            recipient=f"flood{i}-{tag}@bench.example",
            metadata=ids,
        )
        reason = "simulated" if kind in ("bounced", "complained") else ""
        events.append(OutcomeEvent(uuid.uuid4(), kind, message, now, bounce, reason))
    return events


def flood_posts(secret: str, events: Sequence[OutcomeEvent], per_post: int) -> list[Post]:
    """The simulator's signed posts of `events`, `per_post` events each."""
    form = SimulatorFormat(secret)
    chunks = (list(events[i : i + per_post]) for i in range(0, len(events), per_post))
    return [post for chunk in chunks for post in form.posts(chunk)]


def expected_ids(events: Sequence[OutcomeEvent]) -> set[UUID]:
    """The `email.events` ids webhook_ingest gives `events` (stable across retries)."""
    return {provider_event_id(PROVIDER, str(event.id)) for event in events}


async def flood(
    http: httpx.AsyncClient, urls: Sequence[tuple[str, str]], posts: list[Post], in_flight: int
) -> Tally:
    """Post everything round-robin over `urls` ((instance, URL) pairs), at most `in_flight`
    posts at a time to each; what came back."""
    tally = Tally()
    queues = [deque(posts[k :: len(urls)]) for k in range(len(urls))]

    async def worker(instance: str, url: str, queue: deque[Post]) -> None:
        while queue:
            await _deliver(http, instance, url, queue.popleft(), tally)

    work = [(name, url, queue) for (name, url), queue in zip(urls, queues, strict=True)]
    await asyncio.gather(*(worker(*job) for job in work for _ in range(in_flight)))
    return tally


async def _deliver(
    http: httpx.AsyncClient, instance: str, url: str, post: Post, tally: Tally
) -> None:
    """Post until accepted; anything but 200, 429 and 503 ends the benchmark."""
    while True:
        body, headers = post.make()  # signed now: a retry carries a fresh timestamp
        answer = await http.post(url, content=body, headers=headers)
        if answer.status_code == 200:
            emitted = int(answer.json()["emitted"])
            if emitted != post.events:
                raise StackError(f"{url}: {emitted} of {post.events} emitted: {answer.text[:300]}")
            tally.count(instance, emitted)
            return
        if answer.status_code not in (429, 503):
            raise StackError(f"{url}: HTTP {answer.status_code}: {answer.text[:300]}")
        tally.retried += 1
        await asyncio.sleep(_retry_after(answer))


def _retry_after(answer: httpx.Response) -> float:
    try:
        return min(30.0, float(answer.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


async def events_on_topic(
    common: CommonSettings, since: dict[int, int], campaign: UUID, expected: set[UUID]
) -> dict[str, Any]:
    """`campaign`'s events on `email.events` after `since`, against the ids posted."""
    seen: Counter[UUID] = Counter()
    topic = topic_name(Topic.EMAIL_EVENTS, common.topic_prefix)
    async for record in records_since(common, topic, since):
        for event in decode(EventBatch, record.value or b"").events:
            if event.campaign_id == campaign:
                seen[event.event_id] += 1
    return {
        "posted": len(expected),
        "on_topic": len(seen),
        "missing": len(expected - set(seen)),
        "unknown": len(set(seen) - expected),
        "records_repeated": sum(seen.values()) - len(seen),  # a retried post's first try
    }


async def simulator_quiet(http: httpx.AsyncClient, timeout_s: float = 60.0) -> None:
    """Wait until the stack's simulator has posted every webhook event it holds: each
    instance's count of emitted events is read before and after the flood, and the
    simulator's own posts (the outcomes of a campaign run just before) go to the first
    instance too (a CI run once counted 69 of them in a flood of 200 per instance)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = await http.get(f"{service_url('esp_simulator')}/v1/counters")
        counters = checked_json(answer, "simulator counters")
        pending = int(counters["webhooks"]["events_pending"])
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise StackError(
                f"the ESP simulator still holds {pending} webhook events after {timeout_s:g} s; "
                "check webhook_ingest (`fanout stack status`) and run the flood again"
            )
        await asyncio.sleep(0.2)


async def run_flood(
    common: CommonSettings, plan: FloodPlan, result: SweepResult, say: Say
) -> SweepResult:
    """Every round of `plan`, its steps appended to `result` as they finish."""
    secret = stack_secret(common, "simulator_webhook_secret")
    account, _ = await new_account(common, "bench webhook flood")
    connections = plan.in_flight * max(plan.instances) + 2
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def step(instances: int, round_: int) -> SweepStep:
            group = Instances(common, "webhook_ingest", instances, plan.env(), say)
            return await _step(common, plan, group, (secret, account), http, round_)

        await sweep_rounds(result, step, say)
    await delete_account(common, account)
    return result


async def _step(
    common: CommonSettings,
    plan: FloodPlan,
    group: Instances,
    sender: tuple[str, UUID],
    http: httpx.AsyncClient,
    round_: int,
) -> SweepStep:
    await asyncio.to_thread(group.restart)
    secret, account = sender
    campaign = uuid.uuid4()
    events = flood_events(account, campaign, plan.events)
    posts = flood_posts(secret, events, plan.events_per_post)
    urls = [(i.name, f"{i.url}/webhooks/{PROVIDER}") for i in group.live]
    await simulator_quiet(http)
    before = [await group.metric(http, i, EMITTED) for i in group.live]
    since = await end_offsets(common, topic_name(Topic.EMAIL_EVENTS, common.topic_prefix))
    sampler = Sampler(common)
    sampler.start()
    tally = await flood(http, urls, posts, plan.in_flight)
    cpu_s = sampler.cpu_seconds()
    after = [await group.metric(http, i, EMITTED) for i in group.live]
    counted = await events_on_topic(common, since, campaign, expected_ids(events))
    per_instance = {
        i.name: {"sent_events": tally.by_instance[i.name], "metrics_emitted": int(a - b)}
        for i, b, a in zip(group.live, before, after, strict=True)
    }
    counted["passed"] = (
        tally.accepted == plan.events
        and counted["missing"] == counted["unknown"] == 0
        and all(v["sent_events"] == v["metrics_emitted"] > 0 for v in per_instance.values())
    )
    facts = {
        "campaign_id": str(campaign),
        "posts": len(posts),
        "retried_posts": tally.retried,
        "per_instance": per_instance,
        "cpu_s": cpu_s,  # of every stack process during the flood
        "reconciliation": counted,
    }
    timeline = tally.timeline
    return SweepStep(
        len(group.live),
        round_,
        accepted_rate(timeline),
        timeline[-1][0] if timeline else 0.0,
        steady_rate(timeline, plan.events),
        thin(timeline),
        facts,
    )
