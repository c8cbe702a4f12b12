"""Per-key debounce: every touched key is released, each at most once per interval.

A key touched while it was not released within the last `interval_s` is due at once;
one touched again sooner waits until the interval since its last release is over. A
touch after a release always leads to another release, so the last touch of a key is
always followed by one (the campaign summary's final recompute). Time comes from
`clock` (`time.monotonic` in production, a pinned clock in tests).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

from shared.periodic import Clock

K = TypeVar("K", bound=Hashable)
SLACK_S = 1e-6  # "due in a microsecond" is due: sleeping wait_s() must make a key due


class Debounce(Generic[K]):
    """Keys waiting for their release, and when each was last released."""

    def __init__(self, interval_s: float, clock: Clock = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._pending: dict[K, None] = {}  # insertion-ordered set
        self._released: dict[K, float] = {}  # only releases younger than the interval

    def __len__(self) -> int:
        return len(self._pending)

    def touch(self, keys: Iterable[K]) -> None:
        """Mark `keys` as waiting for a release."""
        self._pending.update(dict.fromkeys(keys))

    def take(self) -> list[K]:
        """The keys due now, recorded as released now (and no longer waiting)."""
        now = self._clock()
        self._forget_before(now - self.interval_s + SLACK_S)
        due = [key for key in self._pending if key not in self._released]
        for key in due:
            del self._pending[key]
            self._released[key] = now
        return due

    def take_all(self) -> list[K]:
        """Every waiting key, due or not (the last release before stopping)."""
        now = self._clock()
        keys = list(self._pending)
        self._pending.clear()
        self._released.update(dict.fromkeys(keys, now))
        return keys

    def restore(self, keys: Iterable[K]) -> None:
        """Keys whose release failed: waiting again, due one interval after that release."""
        self.touch(keys)

    def wait_s(self) -> float | None:
        """Seconds until the next waiting key is due (0: now); None when none waits."""
        if not self._pending:
            return None
        now = self._clock()
        waits = (
            self._released[key] + self.interval_s - now if key in self._released else 0.0
            for key in self._pending
        )
        wait = min(waits)
        return wait if wait > SLACK_S else 0.0

    def _forget_before(self, instant: float) -> None:
        # memory stays flat: only keys released within the interval are remembered
        for key in [k for k, at in self._released.items() if at <= instant]:
            del self._released[key]
