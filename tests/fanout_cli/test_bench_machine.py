"""The machine's speed beside every benchmark run: a fixed piece of work timed by one
thread's CPU clock, and the line the reports print of it."""

from __future__ import annotations

import itertools
from dataclasses import asdict

import pytest

from fanout_cli.bench.e2e import E2EResult
from fanout_cli.bench.machine import Reference, reference, reference_work
from fanout_cli.bench.render import reference_line


def test_the_reference_takes_the_median_and_range_of_its_repeats_in_ms() -> None:
    # each repeat reads the clock twice: 0.010 s, 0.030 s and 0.020 s of CPU
    readings = iter([1.0, 1.010, 2.0, 2.030, 3.0, 3.020])
    ref = reference(repeats=3, rounds=1, clock=lambda: next(readings))
    assert (ref.median_ms, ref.min_ms, ref.max_ms) == pytest.approx((20.0, 10.0, 30.0))
    assert ref.repeats == 3


def test_the_work_is_the_same_on_every_call_and_grows_with_its_rounds() -> None:
    batch = {
        "events": [
            {
                "metadata": {"lead_id": "00000000-0000-0000-0000-00000000002a"},
                "occurred_at": "2026-12-05T14:07:00+00:00",
                "recipient": "a@b.c",
            }
        ]
    }
    table = {i: i * 7 for i in range(97)}
    once = reference_work(batch, table, rounds=1)
    assert reference_work(batch, table, rounds=1) == once
    assert reference_work(batch, table, rounds=2) != once
    other = {"events": [{**batch["events"][0], "occurred_at": "2026-12-05T14:08:00+00:00"}]}
    assert reference_work(other, table, rounds=1) != once  # it reads every event


def test_the_measured_reference_is_positive_and_the_same_work_each_time() -> None:
    first = reference(repeats=2, rounds=2)
    second = reference(repeats=1, rounds=2)
    assert 0 < first.min_ms <= first.median_ms <= first.max_ms
    assert first.checksum == second.checksum


def test_the_reference_work_is_the_one_earlier_rounds_timed() -> None:
    # References compare across rounds only while the work stays the same: this checksum
    # is the work's (each run's JSON holds it, from round 25 on). A change to the work must change
    # this number on purpose, and say in docs/benchmarks.md that older references differ.
    assert reference(repeats=1).checksum == 655_732_688


def test_the_report_line_gives_each_runs_reference_before_and_after_in_run_order() -> None:
    measured = E2EResult(
        leads=100_000,
        latency_ms=0.0,
        reference=Reference(62.3, 61.8, 65.0, 7, 1),
        reference_after=Reference(64.04, 63.0, 66.0, 7, 1),
    )
    missing = E2EResult(leads=1_000_000, latency_ms=0.0)
    only_before = E2EResult(
        leads=1_000_000, latency_ms=150.0, reference=Reference(80.0, 79.5, 81.25, 7, 1)
    )
    line = reference_line([asdict(measured), asdict(missing), asdict(only_before)])
    assert line is not None
    assert line.endswith(": 62.3 → 64.0 / — → — / 80.0 → —.")
    assert "medians of 7" in line
    assert reference_line([asdict(missing)]) is None
    assert reference_line([{"leads": 1}]) is None  # results saved before the reference existed


def test_every_call_of_the_reference_reads_the_clock_twice_per_repeat() -> None:
    calls = itertools.count()

    def clock() -> float:
        return float(next(calls))

    reference(repeats=4, rounds=1, clock=clock)
    assert next(calls) == 8
