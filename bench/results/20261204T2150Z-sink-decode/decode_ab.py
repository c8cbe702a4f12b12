"""report_sink's decode of `email.events` values, before (bd3fe32: orjson + checks in Python)
and after (msgspec against the contract's fields as text), side by side in one process.

Run from the repository root: .venv/bin/python bench/results/20261204T2150Z-sink-decode/decode_ab.py
Values as the producers write them: 50 `sent` events (a sender batch's outcomes) and 400
`delivered` events (a webhook post); µs per event, median of 7 timings of 200 decodes each,
the two sides alternating twice.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from services.report_sink.decode import event_rows as after
from shared.contracts.events import EventType
from shared.contracts.fast_events import FastEvent, encode_events

BEFORE = "bd3fe32"
source = subprocess.run(
    ["git", "show", f"{BEFORE}:services/report_sink/decode.py"], check=True, capture_output=True
).stdout
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "decode_before.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("decode_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["decode_before"] = module
    spec.loader.exec_module(module)
before = module.event_rows

account, campaign, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)


def event(kind: EventType) -> FastEvent:
    return FastEvent(
        uuid.uuid4(), account, campaign, uuid.uuid4(), f"x{uuid.uuid4().hex[:8]}@example.com",
        kind, "simulator", now, "pm-" + uuid.uuid4().hex, "", None,
    )  # fmt: skip


for size, kind in ((50, EventType.SENT), (400, EventType.DELIVERED)):
    raw = encode_events([event(kind) for _ in range(size)])
    assert after(raw) == before(raw)
    for name, decode in (("before", before), ("after", after)) * 2:
        timings = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(200):
                decode(raw)
            timings.append((time.perf_counter() - start) / 200 / size * 1e6)
        print(f"{size:>4} events {name:>6}: {statistics.median(timings):.3f} µs per event")
