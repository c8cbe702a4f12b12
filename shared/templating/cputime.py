"""The clock a render budget reads: the rendering thread's CPU time, less garbage collection.

A template is charged for what it spends, whatever else the machine or the process is
doing. `time.thread_time` already leaves out other threads and time spent waiting, but
a collection of the interpreter's garbage runs in whichever thread allocated last, and
in a long-running sender a full collection takes a tenth of a second or more: seen in
`fanout chaos --leads 100000`, where 1 to 3 emails per campaign of the demo's one-line
template failed "rendering took more than 0.1 s of CPU time". What a template can make
the collector do is bounded by its other limits (iterations, characters built), so the
collector's time is not the template's.

The collector's callbacks (`gc.callbacks`) time each collection in the thread it runs
in; `render_clock()` is that thread's CPU time minus its collections so far.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any


class _Collections(threading.local):
    """Per thread: CPU time spent collecting garbage, and when the current one started."""

    spent: float = 0.0
    started: float | None = None


_COLLECTIONS = _Collections()


def _on_collection(phase: str, _info: dict[str, Any]) -> None:
    if phase == "start":
        _COLLECTIONS.started = time.thread_time()
    elif _COLLECTIONS.started is not None:
        _COLLECTIONS.spent += time.thread_time() - _COLLECTIONS.started
        _COLLECTIONS.started = None


def render_clock() -> float:
    """This thread's CPU time (seconds) less the garbage collections that ran in it."""
    return time.thread_time() - _COLLECTIONS.spent


if _on_collection not in gc.callbacks:
    gc.callbacks.append(_on_collection)
