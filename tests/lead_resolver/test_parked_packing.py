"""Parked rows packed into full re-emitted batches: every row once, in order, at most 50
recipients per batch, never a reserved row with one that is not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.lead_resolver.batcher import pack_parked

rows = st.lists(st.tuples(st.booleans(), st.integers(1, 50)), max_size=60)


@given(rows)
def test_pack_parked_keeps_every_row_once_in_full_uniform_batches(
    found: list[tuple[bool, int]],
) -> None:
    parked = [(n, reserved, size) for n, (reserved, size) in enumerate(found)]
    sizes = {n: size for n, _, size in parked}
    flags = {n: reserved for n, reserved, _ in parked}
    groups = pack_parked(parked)
    assert [n for group in groups for n in group] == [n for n, _, _ in parked]
    for group in groups:
        assert sum(sizes[n] for n in group) <= 50
        assert len({flags[n] for n in group}) == 1
    for before, after in zip(groups, groups[1:], strict=False):
        # a new batch starts only when the next row would not fit or differs in kind
        fits = sum(sizes[n] for n in before) + sizes[after[0]] <= 50
        assert not fits or flags[before[-1]] != flags[after[0]]


def test_small_parked_rows_are_merged() -> None:
    parked = [(1, True, 17), (4, True, 17), (9, True, 17), (12, False, 5)]
    assert pack_parked(parked) == [[1, 4], [9], [12]]
