"""Screening a batch against what blocks its recipients (read with the ledger look-up)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from services.sender.screening import REASON, Blocked, screen
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient

ADDRESSES = ["ada@example.com", "Bob@Example.com", "cy@example.org", "dee@example.net"]


@st.composite
def recipients(draw: st.DrawFn) -> list[FastRecipient]:
    emails = draw(st.lists(st.sampled_from(ADDRESSES), min_size=0, max_size=8))
    return [FastRecipient(lead_id=uuid.UUID(int=i + 1), email=e) for i, e in enumerate(emails)]


@given(
    batch=recipients(),
    suppressed=st.sets(st.sampled_from([a.lower() for a in ADDRESSES])),
    unsubscribed=st.sets(st.integers(min_value=1, max_value=8)),
    kept=st.sets(st.integers(min_value=1, max_value=8)),
)
def test_screen_suppresses_exactly_the_blocked_recipients_not_kept(
    batch: list[FastRecipient], suppressed: set[str], unsubscribed: set[int], kept: set[int]
) -> None:
    found = Blocked(frozenset(suppressed), frozenset(uuid.UUID(int=n) for n in unsubscribed))
    keep = {uuid.UUID(int=n) for n in kept}
    outcomes, to_send = screen(found, batch, keep)
    blocked = [
        r
        for r in batch
        if r.lead_id not in keep and (r.email.lower() in suppressed or r.lead_id in found.leads)
    ]
    assert [o.recipient for o in outcomes] == blocked
    assert {(o.type, o.reason) for o in outcomes} <= {(EventType.SUPPRESSED, REASON)}
    assert to_send == [r for r in batch if r not in blocked]  # order kept, nothing lost
