"""The sender's cheap ways to its per-email values give exactly what the shared definitions
give: outcome event ids and Message-IDs (`shared.contracts.events`), unsubscribe links
(`shared.unsubscribe`), and the `email.events` value of a batch's outcomes (`encode`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from asyncpg.pgproto.pgproto import UUID as asyncpg_uuid
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sender.ids import CampaignIds, uuid_texts
from services.sender.outcomes import Outcome, encode_outcome_events, outcome_events
from services.sender.render import LinkSigner
from shared.contracts import EventType, decode, encode
from shared.contracts.events import EventBatch, message_id, outcome_event_id
from shared.contracts.fast_sends import FastRecipient
from shared.unsubscribe import verify_token

TEXT = st.text(max_size=60)
EMAILS = st.text(min_size=3, max_size=80)


@given(st.uuids(), st.lists(st.uuids(), min_size=1, max_size=5), st.from_regex(r"[a-z.]{1,30}"))
def test_campaign_ids_are_the_shared_ids(
    campaign: uuid.UUID, leads: list[uuid.UUID], domain: str
) -> None:
    ids = CampaignIds(campaign)
    for lead in leads:
        assert ids.outcome_event_id(str(lead)) == str(outcome_event_id(campaign, lead))
        assert ids.message_id(str(lead), domain) == message_id(campaign, lead, domain)


@given(st.lists(st.uuids(), max_size=60), st.booleans())
def test_uuid_texts_are_str_of_each(ids: list[uuid.UUID], as_asyncpg: bool) -> None:
    """The lead ids' text, written by msgspec, is `str()` of each, asyncpg's UUIDs too."""
    given_ids = [asyncpg_uuid(str(i)) for i in ids] if as_asyncpg else ids
    assert uuid_texts(iter(given_ids)) == [str(i) for i in ids]


@given(st.text(min_size=1, max_size=100), st.uuids(), st.uuids(), st.uuids(), EMAILS)
def test_campaign_links_are_the_signers_links(
    secret: str, account: uuid.UUID, campaign: uuid.UUID, lead: uuid.UUID, email: str
) -> None:
    """Secrets longer than the hash's block too; the token still verifies."""
    signer = LinkSigner(secret, "https://u.example.test/")
    link = signer.campaign(account, campaign).url(str(lead), email)
    assert link == signer.url(account, campaign, lead, email)
    claim = verify_token(secret, link.rsplit("/", 1)[1])
    assert (claim.lead_id, claim.email) == (lead, email)


OUTCOMES = st.lists(
    st.tuples(EMAILS, st.sampled_from(list(EventType)), TEXT, st.text(max_size=1100)),
    min_size=1,
    max_size=50,
)


@settings(max_examples=300)
@given(
    OUTCOMES,
    st.text(max_size=40),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
)
def test_outcome_events_bytes_are_the_contracts_bytes(
    rows: list[tuple[str, EventType, str, str]], provider: str, at: datetime
) -> None:
    """Key and value byte for byte what `encode` makes of the pydantic batch (long reasons
    and providers cut as there; quotes, controls and non-ASCII text escaped as there)."""
    outcomes = [
        Outcome(FastRecipient(lead_id=uuid.uuid4(), email=email), kind, message, reason)
        for email, kind, message, reason in rows
    ]
    where = {"account_id": uuid.uuid4(), "campaign_id": uuid.uuid4()}
    batch = outcome_events(outcomes, **where, provider=provider, occurred_at=at)
    key, value = encode_outcome_events(outcomes, **where, provider=provider, occurred_at=at)
    assert (key, value) == (batch.key(), encode(batch))
    assert decode(EventBatch, value) == batch
