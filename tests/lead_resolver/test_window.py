"""The window W: pages are whole, never past W, and outstanding means not yet counted."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.lead_resolver.config import Settings as ResolverSettings
from services.lead_resolver.resolver import Resolver, Step, page_room
from services.sender import ledger
from services.sender.outcomes import Outcome
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.send_path import campaign, counted_batch, seed_campaign

sizes = st.integers(min_value=1, max_value=1_000)


@given(window=sizes, page=sizes, outstanding=st.integers(min_value=0, max_value=1_200))
def test_page_room_is_a_whole_page_within_the_window(
    window: int, page: int, outstanding: int
) -> None:
    room = page_room(window, page, outstanding)
    assert 0 <= room <= page
    assert outstanding + room <= window or room == 0
    if room:  # never a page smaller than a page (or than W, when W is smaller)
        assert room >= min(page, window)
    else:  # nothing only while a whole page does not fit
        assert window - outstanding < min(page, window)


@pytest.mark.kafka
@pytest.mark.postgres
async def test_resolve_campaign_waits_until_counted_outcomes_free_a_whole_page(
    pool: asyncpg.Pool, settings: CommonSettings
) -> None:
    seeded = await seed_campaign(pool, matching=300)  # 6 batches
    cid = seeded.campaign_id
    producer = make_producer(settings)
    await producer.start()
    try:
        sends = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
        knobs = ResolverSettings(common=settings, window=3, page_batches=2)
        resolver = Resolver(knobs, pool, producer, sends)
        assert await resolver.step(cid) is Step.PROGRESSED  # queued → resolving
        assert await resolver.step(cid) is Step.PROGRESSED  # batches 0 and 1
        assert await resolver.step(cid) is Step.WAITING  # room for 1 of a page of 2
        # batch 0 recorded by the sender, not yet counted: still outstanding
        lead = min(seeded.matching)
        batch = FastSendBatch(
            campaign_id=cid,
            account_id=seeded.account_id,
            run_id=seeded.run_id,
            batch_no=0,
            recipients=[FastRecipient(lead_id=lead, email="a@example.com")],
        )
        sent = [Outcome(batch.recipients[0], EventType.SENT, provider_message_id="m")]
        assert await ledger.record(pool, batch, sent, datetime.now(UTC))
        assert await resolver.step(cid) is Step.WAITING
        await counted_batch(pool, cid, 1, sent=50)  # batch 1 counted: a page fits again
        assert await resolver.step(cid) is Step.PROGRESSED
        row = await campaign(pool, cid)
        assert (row["batches_emitted"], row["batches_counted"]) == (4, 1)
        assert await resolver.step(cid) is Step.WAITING
    finally:
        await producer.stop()
