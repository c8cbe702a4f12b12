"""Stopping whatever still carries a test stack's mark, after everything was stopped by pid.

The orderly stop goes by pid files (services, Kafka) and the data folder (PostgreSQL).
What it cannot know of (a broker started a moment before an interruption, before its
pid file was written; a service a killed test process had started) still carries
`FANOUT_TEST_STACK=<id>` in its environment, inherited from the run: found by that
mark, it gets SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fanout_cli.stack.processes import alive


def marked(marker: str, stack_id: str) -> list[int]:
    """Pids of live processes (not this one) whose environment holds `marker=stack_id`."""
    needle = f"{marker}={stack_id}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            entries = (proc / "environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in entries and alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def stop_marked(marker: str, stack_id: str, timeout: float = 10.0) -> list[int]:
    """SIGTERM every marked process, SIGKILL those alive after `timeout`; their pids."""
    pids = marked(marker, stack_id)
    _send(pids, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    _send([p for p in pids if alive(p)], signal.SIGKILL)
    return pids


def _send(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            continue
