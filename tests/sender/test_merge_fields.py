"""Only the lead fields a template reads travel from the resolver to the sender, and a
template edited after its leads were resolved still gets every field it reads.

The resolver reads, and its batches carry, `email` and the fields the campaign's
template names (`shared.templating.usage.fields_read`); the sender reads from the leads
the fields a recipient lacks for the template it renders now (`merge_fields`), in the
campaign's account only.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from services.lead_resolver.resolver import Resolver, Step
from services.sender.merge_fields import complete
from services.sender.providers.base import Outcome, RecipientResult, SendRequest
from shared import metrics
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from shared.settings import CommonSettings
from tests import factories
from tests.send_path import Seeded, read_sends, seed_campaign, set_template_part
from tests.sender.harness import harness

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


class Capturing:
    """Accepts every email and keeps it."""

    name = "simulator"

    def __init__(self) -> None:
        self.html: dict[uuid.UUID, str] = {}

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        self.html.update({e.lead_id: e.html for e in request.emails})
        return [
            RecipientResult(e.lead_id, Outcome.ACCEPTED, provider_message_id=f"p-{e.lead_id}")
            for e in request.emails
        ]

    async def max_send_rate(self) -> float | None:
        return None

    async def aclose(self) -> None:
        return None


async def _resolved(
    pool: asyncpg.Pool, settings: CommonSettings, resolver: Resolver, matching: int
) -> tuple[Seeded, list[FastSendBatch]]:
    """A campaign whose template reads `first_name` and `country`, its leads with tags and
    attributes, resolved by the real resolver; its batches as emitted."""
    seeded = await seed_campaign(pool, matching=matching)
    await pool.execute(
        "UPDATE leads SET tags = '{vip}', "
        "attributes = jsonb_build_object('company', 'Co ' || first_name) WHERE account_id = $1",
        seeded.account_id,
    )
    assert await resolver.step(seeded.campaign_id) is Step.PROGRESSED  # taken over
    assert await resolver.step(seeded.campaign_id) is Step.DONE  # one page
    batches = [b for b in await read_sends(settings) if b.campaign_id == seeded.campaign_id]
    return seeded, batches


async def test_batches_carry_only_the_fields_the_template_reads(
    pool: asyncpg.Pool, settings: CommonSettings, resolver: Resolver
) -> None:
    seeded, batches = await _resolved(pool, settings, resolver, matching=60)
    leads = {
        r["id"]: r
        for r in await pool.fetch(
            "SELECT id, email, first_name, country FROM leads WHERE account_id = $1",
            seeded.account_id,
        )
    }
    recipients = [r for b in batches for r in b.recipients]
    assert len(recipients) == 60
    for r in recipients:
        lead = leads[r.lead_id]
        assert r.merge_vars == {
            "email": lead["email"],
            "first_name": lead["first_name"] or "",
            "country": lead["country"] or "",
        }


async def test_a_template_edited_after_resolving_gets_the_fields_it_reads_now(
    pool: asyncpg.Pool, settings: CommonSettings, resolver: Resolver
) -> None:
    seeded, batches = await _resolved(pool, settings, resolver, matching=60)
    cid = seeded.campaign_id
    await set_template_part(
        pool, cid, "html_body", "<p>{{ attributes.company }} {{ tags|join(',') }}</p>"
    )
    await pool.execute("UPDATE campaigns SET state = 'sending' WHERE id = $1", cid)
    provider = Capturing()
    before = metrics.MERGE_FIELDS_READ._value.get()
    async with harness(pool, settings, provider, spec_ttl_s=0.0) as h:
        for batch in batches:
            assert await h.pipeline.process(batch) == ""
    names = {
        r["id"]: r["first_name"]
        for r in await pool.fetch(
            "SELECT id, first_name FROM leads WHERE account_id = $1", seeded.account_id
        )
    }
    assert len(provider.html) == 60
    for lead_id, html in provider.html.items():
        assert f"<p>Co {names[lead_id]} vip</p>" in html
    assert metrics.MERGE_FIELDS_READ._value.get() - before == 60


async def test_fields_are_read_from_the_campaigns_account_only(pool: asyncpg.Pool) -> None:
    mine = (await factories.account(pool, "mine")).id
    theirs = (await factories.account(pool, "theirs")).id
    own = await factories.lead(pool, mine, attributes={"company": "Ours"}, tags=["a"])
    other = await factories.lead(pool, theirs, attributes={"company": "Secret"})
    carried = FastRecipient(uuid.uuid4(), "x@example.com", {"email": "x@example.com"})
    recipients = [
        FastRecipient(own, "own@example.com", {"email": "own@example.com"}),
        FastRecipient(other, "other@example.com", {"email": "other@example.com"}),
        carried,  # no such lead: left as it is
        FastRecipient(own, "own@example.com", {"email": "own@example.com", "tags": ["kept"]}),
    ]
    reads = frozenset({"attributes", "tags"})
    done = await complete(pool, mine, reads, recipients)
    assert done[0].merge_vars == {
        "email": "own@example.com",
        "attributes": {"company": "Ours"},
        "tags": ["a"],
    }
    assert done[1] is recipients[1] and done[2] is carried  # another account's, and none
    assert done[3].merge_vars["tags"] == ["kept"]  # what a recipient carries wins
    assert await complete(pool, mine, frozenset(), recipients) is recipients
