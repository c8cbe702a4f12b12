"""From matched lead rows to send batches and exclusions.

A batch holds the sendable leads among 50 consecutive matched leads (a slice), so
what a batch holds depends only on where the audience starts, never on how many
batches a page holds: a page read again after a crash, under another window, yields
the same batches under the same numbers, and the sender's per-batch accounting still
counts each lead once. A slice whose every lead is excluded makes no batch and takes
no number. Pages are whole slices (the resolver asks for a multiple of 50 rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar
from uuid import UUID

from services.lead_resolver.exclusions import Excluded, exclusion
from shared.contracts.events import ExclusionReason
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from shared.contracts.sends import MAX_BATCH
from shared.templating import lead_merge_vars

# The template variables of one lead: the same function a preview and a launch check use
# (given the fields the campaign's template reads, only those: `fields_read`).
merge_vars = lead_merge_vars

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = MAX_BATCH) -> Iterator[list[T]]:
    """`items` in consecutive groups of at most `size`."""
    iterator = iter(items)
    while group := list(islice(iterator, size)):
        yield group


@dataclass(frozen=True)
class Page:
    """What one page of matched leads of a campaign becomes: batches to send, leads left out."""

    campaign_id: UUID
    account_id: UUID
    batches: list[FastSendBatch]
    excluded: list[Excluded]
    last_lead: UUID

    @property
    def leads(self) -> int:
        """Leads in the page's batches."""
        return sum(len(batch.recipients) for batch in self.batches)

    def excluded_by_reason(self) -> Counter[ExclusionReason]:
        """How many leads each reason left out."""
        return Counter(item.reason for item in self.excluded)


def plan_page(
    rows: Sequence[Mapping[str, Any]],
    *,
    campaign_id: UUID,
    account_id: UUID,
    run_id: UUID,
    first_batch_no: int,
    fields: Collection[str] | None = None,
) -> Page:
    """`rows` (matched leads in id order, at least one) as batches numbered from
    `first_batch_no` on, one per slice of 50 rows with a sendable lead, and exclusions.
    Each recipient's merge variables are its `email` and its `fields` (all when None)."""
    batches: list[FastSendBatch] = []
    excluded: list[Excluded] = []
    resolved_xmin: int | None = rows[0]["resolved_xmin"]
    for group in chunks(rows):
        items, left_out, blocked = _split(group, fields)
        excluded += left_out
        if items:
            batch_no = first_batch_no + len(batches)
            batches.append(
                _batch(campaign_id, account_id, run_id, batch_no, items, resolved_xmin, blocked)
            )
    return Page(campaign_id, account_id, batches, excluded, rows[-1]["id"])


def _split(
    group: Sequence[Mapping[str, Any]], fields: Collection[str] | None
) -> tuple[list[FastRecipient], list[Excluded], list[UUID]]:
    """One slice's leads: those to send to, those left out, and those of the first kind
    blocked since the launch (the sender screens them out)."""
    seen: set[str] = set()
    items: list[FastRecipient] = []
    excluded: list[Excluded] = []
    blocked: list[UUID] = []
    for row in group:
        reason = exclusion(row, seen)
        if reason is None:
            items.append(
                FastRecipient(
                    lead_id=row["id"], email=row["email"], merge_vars=merge_vars(row, fields)
                )
            )
            if row["blocked"]:
                blocked.append(row["id"])
        else:
            excluded.append(Excluded(row["id"], row["email"], reason))
    return items, excluded, blocked


def send_batches(
    *,
    campaign_id: UUID,
    account_id: UUID,
    run_id: UUID,
    first_batch_no: int,
    items: Sequence[FastRecipient],
) -> list[FastSendBatch]:
    """`items` as batches of at most 50 numbered from `first_batch_no` on."""
    return [
        _batch(campaign_id, account_id, run_id, first_batch_no + i, group)
        for i, group in enumerate(chunks(items))
    ]


def _batch(
    campaign_id: UUID,
    account_id: UUID,
    run_id: UUID,
    batch_no: int,
    items: list[FastRecipient],
    resolved_xmin: int | None = None,
    blocked: list[UUID] | None = None,
) -> FastSendBatch:
    return FastSendBatch(
        campaign_id=campaign_id,
        account_id=account_id,
        run_id=run_id,
        batch_no=batch_no,
        recipients=items,
        resolved_xmin=resolved_xmin,
        blocked_leads=blocked or [],
    )


def pack_parked(rows: Sequence[tuple[int, int]], size: int = MAX_BATCH) -> list[list[int]]:
    """Parked rows (batch number, recipients; each at most `size`) packed, in order, into
    groups of at most `size` recipients: each group is re-emitted as one batch, so parked
    recipients go out in full batches rather than one small batch per parked row."""
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0
    for batch_no, recipients in rows:
        if current and total + recipients > size:
            groups.append(current)
            current, total = [], 0
        current.append(batch_no)
        total += recipients
    if current:
        groups.append(current)
    return groups
