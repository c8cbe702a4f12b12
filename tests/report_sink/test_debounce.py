"""Debounce on a pinned clock: each key released at most once per interval, and every
touch followed by a release (the campaign summary's recompute schedule)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.report_sink.debounce import SLACK_S, Debounce
from tests.clock import BootClock

INTERVAL = 5.0
# a touch of some keys, or time passing with the worker releasing whatever becomes due
steps = st.lists(
    st.one_of(
        st.tuples(st.just("touch"), st.frozensets(st.integers(0, 4), min_size=1)),
        st.tuples(st.just("advance"), st.floats(0.0, 12.0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps=steps)
def test_debounce_releases_each_key_once_per_interval_and_after_its_last_touch(
    steps: list[tuple[str, object]],
) -> None:
    clock = BootClock()
    debounce: Debounce[int] = Debounce(INTERVAL, clock)
    released: dict[int, list[float]] = {}
    touched: dict[int, float] = {}

    def release_due() -> None:  # one round of the worker
        wait = debounce.wait_s()
        due = debounce.take()
        assert bool(due) == (wait == 0.0)  # wait_s says when take releases something
        for key in due:
            released.setdefault(key, []).append(clock.now)

    def run_for(seconds: float) -> None:  # the worker sleeps until the next key is due
        end = clock.now + seconds
        while (wait := debounce.wait_s()) is not None and clock.now + wait <= end:
            clock.advance(wait)
            release_due()
        clock.advance(end - clock.now)

    for kind, value in steps:
        if kind == "touch":
            assert isinstance(value, frozenset)
            debounce.touch(value)
            touched.update(dict.fromkeys(value, clock.now))
            release_due()
        else:
            assert isinstance(value, float)
            run_for(value)
    run_for(INTERVAL)  # then no touch for a while
    assert debounce.wait_s() is None
    for key, times in released.items():
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(gap >= INTERVAL - SLACK_S for gap in gaps), (key, times)
    for key, at in touched.items():
        assert released[key][-1] >= at  # the last touch is followed by a release
        assert released[key][-1] <= at + INTERVAL + SLACK_S  # ...within one interval


def test_debounce_take_all_releases_what_waits_at_once() -> None:
    clock = BootClock()
    debounce: Debounce[str] = Debounce(INTERVAL, clock)
    debounce.touch(["a", "b"])
    assert debounce.take() == ["a", "b"]
    debounce.touch(["b", "c"])
    assert debounce.take() == ["c"]  # b was released a moment ago
    assert debounce.wait_s() == INTERVAL
    assert debounce.take_all() == ["b"]
    assert debounce.wait_s() is None and len(debounce) == 0
    debounce.restore(["b"])  # a failed release waits one interval after it
    clock.advance(INTERVAL - 1)
    assert debounce.take() == []
    clock.advance(1)
    assert debounce.take() == ["b"]
