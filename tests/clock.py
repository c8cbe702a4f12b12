"""Clocks for tests: a monotonic one pinned near zero as on a machine booted a moment
ago, and a wall clock pinned at a chosen instant.

Production code that keeps time takes a `shared.periodic.Clock` (or a wall clock, a
callable answering an aware `datetime`); tests hand it a `BootClock` (or a
`PinnedTime`) and move it by hand, so "an hour later" takes no time and no test
depends on how long the machine has been up or on what time it is.
"""

from __future__ import annotations

from datetime import datetime


class BootClock:
    """Reads `now` (and counts the reads); `advance` moves it forward."""

    def __init__(self, start: float = 0.5) -> None:
        self.now = start
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PinnedTime:
    """A wall clock reading `now` until a test sets another instant."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
