"""CPU of one process by thread name, between two readings of /proc/PID/task/*/stat.

    python sink_threads.py PID start STATE.json
    ... (run the benchmark)
    python sink_threads.py PID end STATE.json EMAILS

Threads of one name are added up (the engine names its pools' threads alike); a thread
that ended between the readings is not counted.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

TICKS = os.sysconf("SC_CLK_TCK")


def reading(pid: int) -> Counter[str]:
    """CPU ticks (user + system) per thread name."""
    ticks: Counter[str] = Counter()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as comm:
                name = comm.read().strip()
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        ticks[name] += int(fields[11]) + int(fields[12])
    return ticks


def main(argv: list[str]) -> None:
    pid, mode, path = int(argv[1]), argv[2], argv[3]
    if mode == "start":
        with open(path, "w") as state:
            json.dump(reading(pid), state)
        return
    with open(path) as state:
        before = Counter(json.load(state))
    emails = int(argv[4])
    spent = {name: ticks - before.get(name, 0) for name, ticks in reading(pid).items()}
    total = sum(spent.values())
    sys.stdout.write(f"total {total / TICKS:.2f} s = {total * 1e6 / TICKS / emails:.1f} µs/email\n")
    for name, ticks in sorted(spent.items(), key=lambda item: -item[1]):
        if ticks:
            per_email = ticks * 1e6 / TICKS / emails
            sys.stdout.write(f"  {name:20s} {ticks / TICKS:6.2f} s {per_email:5.1f} µs/email\n")


if __name__ == "__main__":
    main(sys.argv)
