"""Parked rows packed into full re-emitted batches: every row once, in order, at most 50
recipients per batch."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.lead_resolver.batcher import pack_parked

sizes = st.lists(st.integers(1, 50), max_size=60)


@given(sizes)
def test_pack_parked_keeps_every_row_once_in_full_batches(found: list[int]) -> None:
    parked = list(enumerate(found))
    size_of = dict(parked)
    groups = pack_parked(parked)
    assert [n for group in groups for n in group] == [n for n, _ in parked]
    assert all(sum(size_of[n] for n in group) <= 50 for group in groups)
    for before, after in zip(groups, groups[1:], strict=False):
        # a new batch starts only when the next row would not fit
        assert sum(size_of[n] for n in before) + size_of[after[0]] > 50


def test_small_parked_rows_are_merged() -> None:
    assert pack_parked([(1, 17), (4, 17), (9, 17), (12, 5)]) == [[1, 4], [9, 12]]
