"""What SIGINT, SIGTERM and SIGHUP do during `fanout test`: interrupt it, or wait.

While the steps run, a signal raises `Interrupted` in the main thread, so the run
unwinds through its `finally` and stops what it started. While that stopping runs,
signals only say that it is still going: a second Ctrl-C must not cut it short.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
Handler = Callable[[int, FrameType | None], None]


class Interrupted(Exception):  # noqa: N818 - it is the event, not an error
    """A signal asked the run to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def handled_by(handler: Handler) -> Iterator[None]:
    """`handler` for every signal in `SIGNALS` while the block runs."""
    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def interrupt(signum: int, _frame: FrameType | None) -> None:
    """Raise `Interrupted` where the main thread is."""
    raise Interrupted(signum)


def keep_stopping(signum: int, _frame: FrameType | None) -> None:
    """Say the stack is still being stopped; do nothing else."""
    print(f"{signal.Signals(signum).name}: still stopping the test stack", file=sys.stderr)  # noqa: T201
