"""From lead rows to send batches and exclusions: merge variables, reasons, slices of 50."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from services.lead_resolver.batcher import Page, chunks, merge_vars, plan_page, send_batches
from services.lead_resolver.exclusions import excluded_events
from services.lead_resolver.ownership import campaign_partition
from shared.contracts import CampaignCommand, CommandKind, EventType
from shared.contracts.events import ExclusionReason, outcome_event_id
from shared.contracts.fast_sends import FastRecipient

CAMPAIGN, ACCOUNT, RUN = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
R = ExclusionReason


XMIN = 7_000_123


def row(
    n: int,
    email: str | None = None,
    *,
    suppressed: bool = False,
    unsubscribed: bool = False,
    blocked: bool = False,
) -> dict[str, Any]:
    return {
        "id": uuid.UUID(int=n),
        "email": email or f"lead{n}@example.com",
        "first_name": "Ada" if n % 2 else None,
        "last_name": None,
        "country": "DE",
        "tags": ["vip"],
        "attributes": '{"plan": "pro"}',
        "suppressed": suppressed,
        "unsubscribed": unsubscribed,
        "blocked": blocked or suppressed or unsubscribed,
        "resolved_xmin": XMIN,
    }


def plan(rows: list[dict[str, Any]], first_batch_no: int = 0) -> Page:
    return plan_page(
        rows, campaign_id=CAMPAIGN, account_id=ACCOUNT, run_id=RUN, first_batch_no=first_batch_no
    )


def lead_numbers(page: Page) -> list[list[int]]:
    return [[r.lead_id.int for r in b.recipients] for b in page.batches]


def test_merge_vars_carry_lead_fields_and_attributes() -> None:
    assert merge_vars(row(1)) == {
        "email": "lead1@example.com",
        "first_name": "Ada",
        "last_name": "",
        "country": "DE",
        "tags": ["vip"],
        "attributes": {"plan": "pro"},
    }


def test_plan_page_excludes_each_lead_with_its_reason() -> None:
    rows = [
        row(1),
        row(2, suppressed=True),
        row(3, unsubscribed=True, suppressed=True),  # the more specific reason wins
        row(4, "not-an-address"),
        row(5, "x@exa mple.com"),
        row(6, "Ada@Example.com"),
        row(7, "ada@example.com"),  # the same mailbox as lead 6, in the same slice
        row(8),
    ]
    page = plan(rows)
    assert lead_numbers(page) == [[1, 6, 8]]
    assert [(e.lead_id.int, e.reason) for e in page.excluded] == [
        (2, R.SUPPRESSED),
        (3, R.UNSUBSCRIBED),
        (4, R.INVALID_EMAIL),
        (5, R.INVALID_EMAIL),
        (7, R.DUPLICATE),
    ]
    assert page.leads == 3 and page.last_lead.int == 8
    assert page.excluded_by_reason() == {
        R.SUPPRESSED: 1, R.UNSUBSCRIBED: 1, R.INVALID_EMAIL: 2, R.DUPLICATE: 1
    }  # fmt: skip


def test_plan_page_passes_leads_blocked_since_the_launch_and_the_snapshot_to_the_sender() -> None:
    """A lead suppressed or unsubscribed after the launch is still sent to by the page (so a
    page read again decides the same), marked for the sender to screen out; every batch
    names the snapshot the page was read in."""
    rows = [row(n, blocked=n in (3, 52), suppressed=n == 4) for n in range(1, 61)]
    page = plan(rows)
    assert [len(b.recipients) for b in page.batches] == [49, 10]
    assert [[lead.int for lead in b.blocked_leads] for b in page.batches] == [[3], [52]]
    assert {b.resolved_xmin for b in page.batches} == {XMIN}
    assert [e.lead_id.int for e in page.excluded] == [4]  # blocked by the launch: left out


def test_plan_page_makes_one_batch_per_slice_of_50_matched_leads() -> None:
    rows = [row(n, suppressed=n % 10 == 0) for n in range(1, 131)]
    page = plan(rows, first_batch_no=7)
    assert [b.batch_no for b in page.batches] == [7, 8, 9]
    assert [len(b.recipients) for b in page.batches] == [45, 45, 27]
    assert len(page.excluded) == 13 and page.leads == 117


def test_plan_page_batches_do_not_depend_on_the_page_size() -> None:
    """A page read again after a crash with a smaller window yields the same batches."""
    rows = [row(n, suppressed=n % 7 == 0) for n in range(1, 201)]
    whole = plan(rows)
    halves = plan(rows[:100])
    rest = plan(rows[100:], first_batch_no=len(halves.batches))
    assert whole.batches == halves.batches + rest.batches


def test_plan_page_slice_with_no_sendable_lead_takes_no_number() -> None:
    rows = [row(n, suppressed=True) for n in range(1, 51)] + [row(51), row(52)]
    page = plan(rows, first_batch_no=3)
    assert [(b.batch_no, len(b.recipients)) for b in page.batches] == [(3, 2)]
    assert len(page.excluded) == 50


def test_excluded_events_carry_the_outcome_id_and_reason() -> None:
    page = plan([row(n, unsubscribed=True) for n in range(1, 121)])
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    values = excluded_events(page.excluded, campaign_id=CAMPAIGN, account_id=ACCOUNT, at=at)
    assert [len(v.events) for v in values] == [50, 50, 20]
    first = values[0].events[0]
    assert first.event_id == outcome_event_id(CAMPAIGN, uuid.UUID(int=1))
    assert (first.type, first.reason, first.occurred_at) == (EventType.EXCLUDED, "unsubscribed", at)


def test_send_batches_hold_at_most_50_and_number_consecutively() -> None:
    items = [FastRecipient(lead_id=uuid.UUID(int=n), email=f"l{n}@example.com") for n in range(121)]
    batches = send_batches(
        campaign_id=CAMPAIGN, account_id=ACCOUNT, run_id=RUN, first_batch_no=7, items=items
    )
    assert [len(b.recipients) for b in batches] == [50, 50, 21]
    assert [b.batch_no for b in batches] == [7, 8, 9]
    assert [r for b in batches for r in b.recipients] == items
    assert batches[0].key() == f"{CAMPAIGN}:7".encode()


def test_chunks_of_nothing_is_nothing() -> None:
    assert list(chunks([])) == []


def test_campaign_partition_matches_the_producer_partitioner() -> None:
    partitioner = DefaultPartitioner()
    for _ in range(200):
        campaign = uuid.uuid4()
        command = CampaignCommand(
            command_id=uuid.uuid4(),
            kind=CommandKind.LAUNCH,
            campaign_id=campaign,
            account_id=uuid.uuid4(),
            run_id=uuid.uuid4(),
            issued_at=datetime.now(UTC),
        )
        expected = partitioner(command.key(), list(range(6)), list(range(6)))
        assert campaign_partition(campaign, 6) == expected
