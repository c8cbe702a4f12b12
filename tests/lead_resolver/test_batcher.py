"""From lead rows to send batches: merge variables, de-duplication, ≤ 50 per batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from services.lead_resolver.batcher import chunks, merge_vars, recipients, send_batches
from services.lead_resolver.ownership import campaign_partition
from shared.contracts import CampaignCommand, CommandKind


def row(n: int, email: str | None = None) -> dict[str, Any]:
    return {
        "id": uuid.UUID(int=n),
        "email": email or f"lead{n}@example.com",
        "first_name": "Ada" if n % 2 else None,
        "last_name": None,
        "country": "DE",
        "tags": ["vip"],
        "attributes": '{"plan": "pro"}',
    }


def test_merge_vars_carry_lead_fields_and_attributes() -> None:
    assert merge_vars(row(1)) == {
        "email": "lead1@example.com",
        "first_name": "Ada",
        "last_name": "",
        "country": "DE",
        "tags": ["vip"],
        "attributes": {"plan": "pro"},
    }


def test_recipients_drop_duplicate_emails_case_insensitively() -> None:
    seen: set[str] = set()
    rows = [row(1, "Ada@Example.com"), row(2, "ada@example.com"), row(3)]
    out = recipients(rows, seen)
    assert [r.lead_id.int for r in out] == [1, 3]
    assert recipients([row(4, "ADA@example.com")], seen) == []


def test_send_batches_hold_at_most_50_and_number_consecutively() -> None:
    items = recipients([row(n) for n in range(1, 122)], set())
    campaign, account, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    batches = send_batches(
        campaign_id=campaign, account_id=account, run_id=run, first_batch_no=7, items=items
    )
    assert [len(b.recipients) for b in batches] == [50, 50, 21]
    assert [b.batch_no for b in batches] == [7, 8, 9]
    assert [r for b in batches for r in b.recipients] == items
    assert batches[0].key() == f"{campaign}:7".encode()


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
