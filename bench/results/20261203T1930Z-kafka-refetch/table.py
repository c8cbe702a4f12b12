"""Each process's CPU µs per email in every run of a side-by-side, and the median ratio.

Usage: python table.py before.jsonl after.jsonl (lines of `fanout bench e2e --out`, run in
turn: before, after, ...).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

SIMULATOR = "esp-simulator"
ALL = "all but sim"


def _us(run: dict[str, Any], names: list[str]) -> float:
    return sum(run["processes"][n]["cpu_s"] for n in names) / run["matched"] * 1e6


def main(before_path: str, after_path: str) -> None:
    """One row per process: before and after of every round, the median after/before."""
    old = [json.loads(line) for line in Path(before_path).read_text().splitlines()]
    new = [json.loads(line) for line in Path(after_path).read_text().splitlines()]
    procs = sorted(old[0]["processes"])
    rounds = "  ".join(f"r{k}old  r{k}new" for k in range(1, len(old) + 1))
    out = [f"process       {rounds}   median new/old"]
    for name in [*procs, ALL]:
        names = [p for p in procs if p != SIMULATOR] if name == ALL else [name]
        pairs = [(_us(o, names), _us(n, names)) for o, n in zip(old, new, strict=True)]
        cells = "  ".join(f"{a:6.1f} {b:6.1f}" for a, b in pairs)
        median = statistics.median(b / a for a, b in pairs)
        out.append(f"{name:13s} {cells}   {median:.3f}")
    speeds = "  ".join(
        f"{o['emails_per_s']:6.0f} {n['emails_per_s']:6.0f}" for o, n in zip(old, new, strict=True)
    )
    out.append(f"emails/s      {speeds}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
