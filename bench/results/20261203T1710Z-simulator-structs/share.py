"""One process's CPU per email against the rest of the stack's, before and after.

Usage: python share.py PROCESS before.jsonl after.jsonl (lines of `fanout bench e2e --out`,
run in turn: before, after, ...). The process's CPU per email is divided by the sum of
every other process's but the simulator's in the same run, so the machine's speed, which
moved by up to 3x between runs of one evening, cancels.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def _us(run: dict[str, Any], process: str) -> float:
    cpu_s: float = run["processes"][process]["cpu_s"]
    matched: int = run["matched"]
    return cpu_s / matched * 1e6


def _row(run: dict[str, Any], process: str) -> tuple[float, float, float]:
    own = _us(run, process)
    rest = sum(_us(run, p) for p in run["processes"] if p not in (process, "esp-simulator"))
    return own, rest, own / rest


def main(process: str, before_path: str, after_path: str) -> None:
    """Print each run's figures and the after/before ratio of the process's share."""
    before = [json.loads(line) for line in Path(before_path).read_text().splitlines()]
    after = [json.loads(line) for line in Path(after_path).read_text().splitlines()]
    ratios = []
    for k, (old, new) in enumerate(zip(before, after, strict=True), start=1):
        for side, run in (("before", old), ("after", new)):
            own, rest, share = _row(run, process)
            sys.stdout.write(
                f"round {k} {side:6s} {run['emails_per_s']:7.0f} emails/s  {process} {own:6.1f}"
                f"  the rest {rest:6.1f} us per email  share {share:.4f}\n"
            )
        ratios.append(_row(new, process)[2] / _row(old, process)[2])
    shown = ", ".join(f"{r:.3f}" for r in ratios)
    median = statistics.median(ratios)
    sys.stdout.write(f"{process} share after/before: {shown}  median {median:.3f}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
