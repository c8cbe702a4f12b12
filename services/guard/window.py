"""The sliding window: a campaign's latest outcomes, kept as buckets of consecutive outcomes.

Outcome number n (counted from 0 in the order the guard counts them) falls into
bucket `n // size`, where `size` is a tenth of the account's `window_outcomes`
when the campaign is first counted. The window is the current bucket and the nine
before it: between nine and ten tenths of `window_outcomes` of the campaign's most
recent outcomes. A campaign keeps at most `BUCKETS` bucket rows; older ones are
dropped as the window moves on.

A second's outcomes of a fast campaign can span several buckets: they are split
by outcome count, and the hard bounces and complaints that came with them are
spread in proportion (exact in total, whole numbers per bucket).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.guard.tally import Counts

BUCKETS = 10


@dataclass(frozen=True)
class Piece:
    """Part of a campaign's new counts that belongs to one bucket."""

    bucket: int
    outcomes: int
    bounced_hard: int
    complained: int


def bucket_size(window_outcomes: int) -> int:
    """Outcomes per bucket for a window of `window_outcomes`."""
    return max(1, window_outcomes // BUCKETS)


def first_kept(outcomes: int, size: int) -> int:
    """The oldest bucket still in the window after `outcomes` outcomes."""
    return max(0, outcomes // size - (BUCKETS - 1))


def split(before: int, delta: Counts, size: int) -> list[Piece]:
    """`delta`, counted after `before` outcomes, as pieces per bucket still in the window."""
    after = before + delta.outcomes
    if delta.outcomes <= 0:
        return [Piece(before // size, 0, delta.bounced_hard, delta.complained)]
    keep = first_kept(after, size)
    pieces: list[Piece] = []
    start, hard_so_far, complaints_so_far = before, 0, 0
    while start < after:
        bucket = start // size
        end = min(after, (bucket + 1) * size)
        share = (end - before) / delta.outcomes
        hard = round(delta.bounced_hard * share) - hard_so_far
        complaints = round(delta.complained * share) - complaints_so_far
        hard_so_far, complaints_so_far = hard_so_far + hard, complaints_so_far + complaints
        if bucket >= keep:
            pieces.append(Piece(bucket, end - start, hard, complaints))
        start = end
    return pieces
