"""CPU per email per process, after against before, each run against its unchanged processes.

Usage: python ratio.py before.jsonl after.jsonl (lines of `fanout bench e2e --out`, run in
turn: before, after, before, after, ...). A process's after/before ratio in round k is its
share of the unchanged processes' CPU (campaign-api, esp-simulator, kafka, postgres) in the
after run over the same in the before run, so the machine's drift between runs cancels.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

UNCHANGED = ("campaign-api", "esp-simulator", "kafka", "postgres")


def _us(run: dict[str, Any], process: str) -> float:
    cpu_s: float = run["processes"][process]["cpu_s"]
    return cpu_s / run["matched"] * 1e6


def _all_but_sim(run: dict[str, Any]) -> float:
    return sum(_us(run, p) for p in run["processes"] if p != "esp-simulator")


def main(before_path: str, after_path: str) -> None:
    """Print each process's ratios per round and their median."""
    before = [json.loads(line) for line in Path(before_path).read_text().splitlines()]
    after = [json.loads(line) for line in Path(after_path).read_text().splitlines()]
    for name in [*sorted(before[0]["processes"]), "all but the simulator"]:
        ratios = []
        for old, new in zip(before, after, strict=True):
            ref_old = sum(_us(old, p) for p in UNCHANGED)
            ref_new = sum(_us(new, p) for p in UNCHANGED)
            if name == "all but the simulator":
                value_old, value_new = _all_but_sim(old), _all_but_sim(new)
            else:
                value_old, value_new = _us(old, name), _us(new, name)
            ratios.append((value_new / ref_new) / (value_old / ref_old))
        shown = ", ".join(f"{r:.3f}" for r in ratios)
        sys.stdout.write(f"{name:22s} {shown}  median {statistics.median(ratios):.3f}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
