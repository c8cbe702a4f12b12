"""From lead rows to send batches: merge variables, de-duplicated emails, at most 50 per batch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any
from uuid import UUID

from shared.contracts.sends import MAX_BATCH, Recipient, SendBatch
from shared.templating import lead_merge_vars

# The template variables of one lead: the same function a preview and a launch check use.
merge_vars = lead_merge_vars


def recipients(rows: Sequence[Mapping[str, Any]], seen: set[str]) -> list[Recipient]:
    """One recipient per row whose address (case-insensitive) is not in `seen` yet."""
    out: list[Recipient] = []
    for row in rows:
        address = row["email"].lower()
        if address in seen:
            continue
        seen.add(address)
        out.append(Recipient(lead_id=row["id"], email=row["email"], merge_vars=merge_vars(row)))
    return out


def chunks(items: Sequence[Recipient], size: int = MAX_BATCH) -> Iterator[list[Recipient]]:
    """`items` in consecutive groups of at most `size`."""
    iterator = iter(items)
    while group := list(islice(iterator, size)):
        yield group


def send_batches(
    *,
    campaign_id: UUID,
    account_id: UUID,
    run_id: UUID,
    first_batch_no: int,
    items: Sequence[Recipient],
) -> list[SendBatch]:
    """`items` as batches numbered from `first_batch_no` on."""
    return [
        SendBatch(
            campaign_id=campaign_id,
            account_id=account_id,
            run_id=run_id,
            batch_no=first_batch_no + i,
            recipients=group,
        )
        for i, group in enumerate(chunks(items))
    ]
