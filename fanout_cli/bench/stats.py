"""Small statistics for benchmark figures: medians and percentiles, per slice."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Latency:
    """Latency figures of one query kind, in milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float


@dataclass
class SliceFigures:
    """What one slice of growth measured."""

    rows_before: int
    rows_after: int
    rows_per_s: float
    queries: dict[str, Latency] = field(default_factory=dict)
    until_all_per_s: float | None = None
    """Fanout's drains only: the slice's events over the time until the last was visible,
    the sink's wait for the batch that the end of a backlog leaves part-full included."""


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(values: list[float]) -> Latency:
    """Count, median, p95 and max of latencies in ms."""
    return Latency(
        count=len(values),
        p50_ms=statistics.median(values) if values else 0.0,
        p95_ms=percentile(values, 0.95),
        max_ms=max(values) if values else 0.0,
    )
