"""What the scripts beside this one share: a report line, and the Postgres cluster's CPU.

Imported by name (each script is run as `python <folder>/<script>.py`, which puts this
folder first on the import path).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def say(*parts: object) -> None:
    """One line of the report on standard output."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def _stat(pid: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # ended meanwhile
        return None


def postgres_cpu() -> float:
    """CPU seconds of the Postgres cluster: its live processes (user + system), and the
    backends that ended, which the postmaster's children's counters hold once it has
    reaped them (a backend's own counters go with it)."""
    total = 0
    for pid in os.listdir("/proc"):
        stat = _stat(pid) if pid.isdigit() else None
        if stat is None or stat[stat.index("(") + 1 : stat.rindex(")")] != "postgres":
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
        parent = _stat(fields[1])
        if parent is None or parent.split()[1] != "(postgres)":  # the postmaster
            total += int(fields[13]) + int(fields[14])
    return total / TICK
