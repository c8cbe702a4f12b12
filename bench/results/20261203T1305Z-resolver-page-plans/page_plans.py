"""The lead resolver's page plans in a PostgreSQL log written with auto_explain.

    python page_plans.py SERVER_LOG

Groups every logged run of the resolver's page statement (`SELECT l.id, l.email ...
FROM leads l`) by the shape of its plan (the first nodes) and prints, per shape, how many
ran, their total and largest duration. auto_explain logs only statements over its
`log_min_duration` (25 ms here), so the fast pages are not in it.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

ENTRY = re.compile(r"\n(?=\d{4}-\d\d-\d\d [\d:.]+ UTC \[\d+\] LOG:  duration:)")


def main(path: str) -> None:
    with open(path) as f:
        log = f.read()
    shapes: dict[str, list[float]] = defaultdict(list)
    for entry in ENTRY.split(log):
        found = re.search(r"duration: ([\d.]+) ms  plan:", entry)
        if not found or "FROM leads l" not in entry or "SELECT l.id, l.email" not in entry:
            continue
        nodes = [
            re.sub(r"\s*\(cost.*", "", line.strip())
            for line in entry.split("\n")
            if "->" in line or line.strip().startswith("Limit")
        ]
        shapes[" / ".join(nodes[:4])].append(float(found.group(1)))
    for shape, durations in sorted(shapes.items(), key=lambda kv: -sum(kv[1])):
        sys.stdout.write(
            f"{len(durations):4d} pages, {sum(durations) / 1000:7.1f} s in all, "
            f"max {max(durations):7.1f} ms: {shape}\n"
        )


if __name__ == "__main__":
    main(sys.argv[1])
