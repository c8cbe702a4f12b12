"""A monotonic clock for tests, pinned near zero as on a machine booted a moment ago.

Production code that keeps time takes a `shared.periodic.Clock`; tests hand it a
`BootClock` and move it by hand, so "an hour later" takes no time and no test
depends on how long the machine has been up.
"""

from __future__ import annotations


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
