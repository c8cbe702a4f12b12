"""The render budget's clock leaves out garbage collection and counts everything else.

Seen in `fanout chaos --leads 100000`: emails of a one-line template failed "rendering
took more than 0.1 s of CPU time" when a full collection of the sender's heap ran while
they rendered (shared/templating/cputime.py).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from shared.templating import TemplateLimits
from shared.templating.cputime import render_clock
from shared.templating.errors import BudgetExceeded
from shared.templating.meter import Meter


@pytest.fixture(scope="module")
def big_heap() -> Iterator[list[list[int]]]:
    """Enough tracked containers that a full collection takes tens of milliseconds."""
    heap = [[n] for n in range(1_500_000)]
    yield heap
    del heap


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_render_clock_leaves_out_a_full_collection(big_heap: list[list[int]]) -> None:
    cpu, clock = time.thread_time(), render_clock()
    gc.collect()
    collected_cpu, collected_clock = time.thread_time() - cpu, render_clock() - clock
    assert collected_cpu > 0.02, "the collection was too cheap to tell anything"
    assert collected_clock < collected_cpu / 10


def test_a_collection_while_rendering_does_not_exhaust_the_budget(
    big_heap: list[list[int]],
) -> None:
    meter = Meter(TemplateLimits(max_render_seconds=0.01))
    started = time.thread_time()
    gc.collect()
    assert time.thread_time() - started > 0.01  # the old clock would have refused here
    meter.check_time()


def test_the_template_own_cpu_time_still_exhausts_it() -> None:
    meter = Meter(TemplateLimits(max_render_seconds=0.01))
    _spin(0.02)
    with pytest.raises(BudgetExceeded) as caught:
        meter.check_time()
    assert caught.value.limit == "max_render_seconds"
