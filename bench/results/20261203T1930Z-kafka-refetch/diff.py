"""What moved in the broker's counters between two KafkaRequests.java snapshots.

Usage: python diff.py before.txt after.txt EMAILS (prints each counter that moved, and
per 1,000 emails).
"""

from __future__ import annotations

import sys
from pathlib import Path

KINDS = ("requests", "time", "topic")


def load(path: str) -> dict[str, float]:
    """`kind ... count` lines → counter name → count."""
    counters: dict[str, float] = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in KINDS:
            counters[" ".join(parts[:-1])] = float(parts[-1])
    return counters


def main(before_path: str, after_path: str, emails: float) -> None:
    """Print every counter that moved between the two snapshots."""
    before, after = load(before_path), load(after_path)
    for key in sorted(after):
        moved = after[key] - before.get(key, 0.0)
        if moved > 0:
            sys.stdout.write(
                f"{key:70s} {moved:14.1f}  per 1k emails {1000 * moved / emails:10.2f}\n"
            )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
