"""Where the figures were measured: CPUs, memory, Python (and which build of it), load at
the start, and the machine's speed beside each run (`reference`)."""

from __future__ import annotations

import hashlib
import hmac
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import psutil


def machine_facts() -> dict[str, Any]:
    """The machine and its load average when the run started."""
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        # whose build: the services run on the same interpreter, and two builds of one
        # version differ in CPU per email (2-11 % for the services, 18 % for the machine
        # reference: docs/benchmarks.md, round 31)
        "python_executable": os.path.realpath(sys.executable),
        "load_average_at_start": os.getloadavg(),
    }


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


# One thread's CPU time for a fixed piece of work, measured beside every run: what the
# machine's speed was then. The services' CPU per email swings by a quarter or more
# between phases of this (shared, virtual) machine with the code unchanged, so figures
# of two runs compare only with their references beside them (docs/benchmarks.md).
REFERENCE_REPEATS = 7
REFERENCE_EVENTS = 50  # one send batch
REFERENCE_ROUNDS = 400
REFERENCE_TABLE = 1 << 18  # entries of the look-up table: ~30 MB, past the caches


@dataclass(frozen=True)
class Reference:
    """The reference work's CPU time: median, fastest and slowest of `repeats`, in ms."""

    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int
    checksum: int  # the same on every machine: the same work was done


def _reference_batch() -> dict[str, Any]:
    return {
        "events": [
            {
                "id": str(UUID(int=(i + 1) * 0x9E3779B97F4A7C15)),
                "type": "delivered",
                "recipient": f"lead{i}@example.com",
                "occurred_at": f"2026-12-05T14:{i % 60:02d}:00+00:00",
                "metadata": {"lead_id": str(UUID(int=i + 1))},
            }
            for i in range(REFERENCE_EVENTS)
        ]
    }


def reference_work(
    batch: Mapping[str, Any], table: Mapping[int, int], rounds: int = REFERENCE_ROUNDS
) -> int:
    """What a service does per email, in miniature: JSON out and in, a signature, ids
    parsed, text formatted, times read, look-ups in a table larger than the caches.
    Returns a checksum of it all."""
    secret = b"fanout-reference"
    checksum, key, size = 0, 1, len(table)
    for _ in range(rounds):
        body = orjson.dumps(batch)
        checksum += hmac.new(secret, body, hashlib.sha256).digest()[0]
        for event in orjson.loads(body)["events"]:
            lead = UUID(event["metadata"]["lead_id"])
            at = datetime.fromisoformat(event["occurred_at"])
            line = f"{event['recipient']}|{lead.hex}|{at.minute}"
            key = (key * 1_103_515_245 + len(line)) % size
            checksum = (checksum + table[key] + at.minute) & 0xFFFFFFFF
    return checksum


def reference(
    repeats: int = REFERENCE_REPEATS,
    rounds: int = REFERENCE_ROUNDS,
    clock: Callable[[], float] = time.thread_time,
) -> Reference:
    """Time `reference_work` `repeats` times by this thread's CPU clock (the benchmark's
    other threads and processes are not counted; the machine's speed is)."""
    batch = _reference_batch()
    table = {i: (i * 2_654_435_761) & 0xFFFF for i in range(REFERENCE_TABLE)}
    spent, checksum = [], 0
    for _ in range(repeats):
        started = clock()
        checksum = reference_work(batch, table, rounds)
        spent.append((clock() - started) * 1000)
    return Reference(
        median_ms=statistics.median(spent),
        min_ms=min(spent),
        max_ms=max(spent),
        repeats=repeats,
        checksum=checksum,
    )
