"""Whether a runner's consumer is consuming, from what aiokafka shows publicly.

A consumer makes progress when any of these holds, looked at after every poll:

- a partition it fetches (assigned, not paused) got a fetch response: aiokafka's
  `last_poll_timestamp` moves with every response, records or not, so a quiet
  topic is progress too;
- every assigned partition is paused, or the runner waits for a full strategy
  without polling: its work is the progress (backpressure is not the consumer's
  to judge);
- the group gave this member no partitions (an idle member of a healthy group).

No progress: the partitions were revoked and not yet reassigned (a rebalance),
or fetches stopped answering. After `stall_after_s` without progress the
consumer is stalled: `/readyz` says so and the runner checks the broker and
rebuilds the consumer if the broker answers (`shared.kafka.runner`). While the
broker does not answer the stall is the outage's, not the consumer's: `excuse`
restarts the clock, so a consumer gets the full time to recover by itself once
the broker is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from shared.kafka.consumer import ConsumerPort


class ConsumerState(StrEnum):
    """What the consumer is doing, as far as the runner can see."""

    STARTING = "starting"  # started or rebuilt, not yet given partitions
    REBALANCING = "rebalancing"  # partitions revoked, not yet reassigned
    IDLE = "idle"  # in the group, no partitions assigned
    BACKPRESSURE = "backpressure"  # every partition paused: the strategy is full
    FETCHING = "fetching"


@dataclass(frozen=True)
class Health:
    """One look at a consumer: what it does and how long since it last made progress."""

    state: ConsumerState
    partitions: int
    idle_s: float  # seconds since the last progress
    stall_after_s: float

    @property
    def consuming(self) -> bool:
        """True unless it made no progress for `stall_after_s`."""
        return self.idle_s <= self.stall_after_s

    def describe(self) -> str:
        """One line for `/readyz` and logs."""
        return (
            f"{self.state.value}, {self.partitions} partitions, "
            f"last progress {self.idle_s:.0f} s ago"
        )


class Liveness:
    """Tracks one runner's consumer; `observe` after every poll, the rest on group events."""

    def __init__(self, stall_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._stall_after = stall_after_s
        self._clock = clock
        self._state = ConsumerState.STARTING
        self._partitions = 0
        self._progress_at = clock()
        self._last_fetch: int | None = None  # the newest fetch response seen (ms, aiokafka's)

    def started(self) -> None:
        """A consumer was (re)built: it has `stall_after_s` to join its group."""
        self._state, self._partitions = ConsumerState.STARTING, 0
        self._progress()

    def assigned(self, partitions: int) -> None:
        """The group assigned `partitions` partitions (possibly none)."""
        self._partitions = partitions
        self._state = ConsumerState.FETCHING if partitions else ConsumerState.IDLE
        self._progress()

    def revoked(self) -> None:
        """The group took the partitions back; progress waits for the next assignment."""
        self._state, self._partitions = ConsumerState.REBALANCING, 0

    def observe(self, consumer: ConsumerPort, polled: int) -> None:
        """After a poll that returned `polled` records: did the consumer make progress?"""
        if self._state in (ConsumerState.STARTING, ConsumerState.REBALANCING):
            return
        assigned = consumer.assignment()
        fetching = assigned - consumer.paused()
        if not assigned or not fetching:
            self._state = ConsumerState.IDLE if not assigned else ConsumerState.BACKPRESSURE
            self._progress()
            return
        self._state = ConsumerState.FETCHING
        answered = [consumer.last_poll_timestamp(tp) for tp in fetching]
        latest = max((at for at in answered if at is not None), default=None)
        if polled or (latest is not None and latest != self._last_fetch):
            self._progress()
        self._last_fetch = latest

    def backpressure(self) -> None:
        """The strategy is full and waited for without polling: its work is the progress."""
        if self._state not in (ConsumerState.STARTING, ConsumerState.REBALANCING):
            self._state = ConsumerState.BACKPRESSURE
            self._progress()

    def excuse(self) -> None:
        """The broker does not answer: restart the clock (the outage is not a stall)."""
        self._progress()

    def health(self) -> Health:
        """The consumer as of now."""
        idle = max(0.0, self._clock() - self._progress_at)
        return Health(self._state, self._partitions, idle, self._stall_after)

    def stalled(self) -> bool:
        """True after `stall_after_s` without progress."""
        return not self.health().consuming

    def _progress(self) -> None:
        self._progress_at = self._clock()
