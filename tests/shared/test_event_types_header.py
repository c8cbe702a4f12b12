"""The `event-types` header of `email.events` values: the sender's outcomes and the
resolver's exclusions name the types they hold, and the guard and the notifier read past,
undecoded, the values holding no type they use (`shared.contracts.fast_events`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from services.guard.recent import RecentIds
from services.guard.step import GuardStep
from services.lead_resolver.batcher import Page
from services.lead_resolver.emitter import emit_page
from services.lead_resolver.exclusions import Excluded
from services.notifier.lead_events import LeadEventsStep
from services.sender.outcomes import Outcome, publish_outcomes
from shared.contracts import ContractError, EventBatch, EventType, encode
from shared.contracts.events import ExclusionReason
from shared.contracts.fast_events import TYPES_HEADER, holds_none_of, types_header
from shared.contracts.fast_sends import FastRecipient
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.events import event
from tests.shared.kafka.fakes import FakeRecord
from tests.shared.kafka_helpers import from_start

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def test_the_header_names_each_type_once_and_says_only_what_it_names() -> None:
    header = types_header([EventType.SENT, EventType.FAILED, EventType.SENT])
    assert header == [(TYPES_HEADER, b"failed,sent")]
    assert holds_none_of(header, {"delivered", "bounced"})
    assert not holds_none_of(header, {"failed"})
    assert not holds_none_of([], {"delivered"})  # no header: its events must be read
    assert not holds_none_of(None, {"delivered"})
    assert not holds_none_of([("other", b"sent")], {"delivered"})


def _steps(pool: asyncpg.Pool) -> tuple[GuardStep, LeadEventsStep]:
    group = f"g{uuid.uuid4().hex[:6]}"
    return GuardStep(pool, group, RecentIds(100)), LeadEventsStep(pool, group, 100)


async def test_a_value_holding_no_type_used_is_read_past_undecoded(pool: asyncpg.Pool) -> None:
    guard, notifier = _steps(pool)
    garbage = b'{"not": "an event batch"}'
    for step in (guard, notifier):
        past = FakeRecord("t", 0, 0, garbage, headers=tuple(types_header([EventType.SENT])))
        assert step.decode(past) == ([], 1)  # not decoded: no contract error either
        for headers in ((), tuple(types_header([EventType.SENT, EventType.BOUNCED]))):
            with pytest.raises(ContractError):  # a type it uses, or no header: decoded
                step.decode(FakeRecord("t", 0, 1, garbage, headers=headers))


async def test_the_producers_headers_name_the_types_their_values_hold(
    pool: asyncpg.Pool, settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    sends = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
    account, campaign = uuid.uuid4(), uuid.uuid4()
    lead = FastRecipient(uuid.uuid4(), "a@example.com")
    outcomes = [
        Outcome(lead, EventType.SENT, provider_message_id="m1"),
        Outcome(FastRecipient(uuid.uuid4(), "b@example.com"), EventType.FAILED, reason="x"),
    ]
    at = datetime.now(UTC)
    await publish_outcomes(
        producer, topic, outcomes, account_id=account, campaign_id=campaign,
        provider="simulator", occurred_at=at,
    )  # fmt: skip
    excluded = [Excluded(uuid.uuid4(), "c@example.com", ExclusionReason.SUPPRESSED)]
    await emit_page(producer, sends, topic, Page(campaign, account, [], excluded, uuid.uuid4()))
    delivered = event(account, campaign, lead.lead_id, EventType.DELIVERED, at)
    await producer.send_and_wait(topic, encode(EventBatch(events=[delivered])))  # as webhooks
    records: list[Any] = []  # this campaign's (the topic is the suite's)
    async with from_start(settings.kafka_bootstrap_servers, topic) as consumer:
        while len(records) < 3 and (polled := await consumer.getmany(timeout_ms=5000)):
            records += [r for rs in polled.values() for r in rs if str(campaign) in str(r.value)]
    assert len(records) == 3
    guard, notifier = _steps(pool)
    for record in records:
        held = {e["type"] for e in orjson.loads(record.value)["events"]}
        named = dict(record.headers).get(TYPES_HEADER)
        if held == {"delivered"}:
            assert named is None  # webhook_ingest's values carry provider feedback: no header
            assert len(guard.decode(record)[0]) == len(notifier.decode(record)[0]) == 1
            continue
        assert named is not None and set(named.decode().split(",")) == held
        assert guard.decode(record) == ([], 1)
        assert notifier.decode(record) == ([], 1)
