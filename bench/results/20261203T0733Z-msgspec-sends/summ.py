"""CPU µs per email per process of `fanout bench e2e --out` JSON lines, per run and median,
and each process against unchanged ones of the same run (the machine's speed drifts).

    python summ.py before.jsonl after.jsonl
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

REFERENCES = ("webhook-ingest", "esp-simulator", "notifier")


def per_email(run: dict[str, Any], process: str) -> float:
    """CPU µs per matched email of `process` in `run`."""
    return float(run["processes"][process]["cpu_s"]) / int(run["matched"]) * 1e6


def summary(path: Path) -> list[str]:
    runs = [json.loads(line) for line in path.read_text().splitlines() if line]
    lines = [f"{path} ({len(runs)} runs)"]
    rates = [float(r["emails_per_s"]) for r in runs]
    lines.append(f"  emails/s {[round(x) for x in rates]} median {statistics.median(rates):.0f}")
    processes = sorted(runs[0]["processes"])
    for process in processes:
        values = [per_email(r, process) for r in runs]
        shown = [round(v, 1) for v in values]
        lines.append(f"  {process:16s} {shown} median {statistics.median(values):.1f}")
    rest = [sum(per_email(r, p) for p in processes if p != "esp-simulator") for r in runs]
    lines.append(f"  all but the simulator {[round(v, 1) for v in rest]}")
    for changed in ("sender", "lead-resolver"):
        for reference in REFERENCES:
            ratios = [per_email(r, changed) / per_email(r, reference) for r in runs]
            lines.append(f"  {changed} / {reference} {[round(v, 3) for v in ratios]}")
    return lines


if __name__ == "__main__":
    for name in sys.argv[1:]:
        sys.stdout.write("\n".join(summary(Path(name))) + "\n")
