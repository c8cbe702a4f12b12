"""The simulator's CPU per email against the rest of the stack's, before and after.

Usage: python share.py before.jsonl after.jsonl (lines of `fanout bench e2e --out`, run in
turn: before, after, before, ...). Only the simulator differs between the two sides; its
CPU per email is divided by that of every other process of the same run, so the machine's
speed, which moved by up to 3x between runs of one afternoon, cancels.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

SIMULATOR = "esp-simulator"


def _us(run: dict[str, Any], process: str) -> float:
    cpu_s: float = run["processes"][process]["cpu_s"]
    matched: int = run["matched"]
    return cpu_s / matched * 1e6


def _row(run: dict[str, Any]) -> tuple[float, float, float]:
    simulator = _us(run, SIMULATOR)
    rest = sum(_us(run, p) for p in run["processes"] if p != SIMULATOR)
    return simulator, rest, simulator / rest


def main(before_path: str, after_path: str) -> None:
    """Print each run's figures and the after/before ratio of the simulator's share."""
    before = [json.loads(line) for line in Path(before_path).read_text().splitlines()]
    after = [json.loads(line) for line in Path(after_path).read_text().splitlines()]
    ratios = []
    for k, (old, new) in enumerate(zip(before, after, strict=True), start=1):
        for side, run in (("before", old), ("after", new)):
            sim, rest, share = _row(run)
            sys.stdout.write(
                f"round {k} {side:6s} {run['emails_per_s']:7.0f} emails/s  simulator {sim:5.1f}"
                f"  the rest {rest:6.1f} us per email  share {share:.4f}\n"
            )
        ratios.append(_row(new)[2] / _row(old)[2])
    shown = ", ".join(f"{r:.3f}" for r in ratios)
    median = statistics.median(ratios)
    sys.stdout.write(f"simulator share after/before: {shown}  median {median:.3f}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
