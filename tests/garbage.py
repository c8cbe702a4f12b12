"""What the cyclic garbage collector finds over a block of a test.

Counting the collector's whole find (`gc.collect()`'s return) fails on garbage that
anything else in the worker made meanwhile (rounds 30 and 31 of issue 17: a fresh-clone CI
run once found 48 objects where a test wanted 0). `collector_finds` keeps the finds
(`gc.DEBUG_SAVEALL`) so a test can look for its own objects among them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_finds() -> Iterator[list[object]]:
    """Collect, then run the block with automatic collection off; at its end, one collection
    whose finds fill the list yielded. The collector's settings are restored either way."""
    found: list[object] = []
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
