"""Where the figures were measured: CPUs, memory, Python, load at the start."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import psutil


def machine_facts() -> dict[str, Any]:
    """The machine and its load average when the run started."""
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
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
