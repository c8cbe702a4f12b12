#!/usr/bin/env bash
# report_sink's ClickHouse side fed N emails (the harness of 20261202T2140Z-sink-jemalloc:
# the service's engine, migrations, summary worker, EventWriter in 5,000-event inserts),
# before (a checkout of a2ec169^ at $BEFORE) and after (this checkout), alternating;
# prints the harness's line and the run's CPU seconds (user, system).
#   BEFORE=/path/to/checkout bash sink_side_by_side.sh N ROUNDS
set -euo pipefail
N=${1:-1000000}; ROUNDS=${2:-2}
AFTER=$(cd "$(dirname "$0")/../../.." && pwd)
HARNESS=bench/results/20261202T2140Z-sink-jemalloc/sink_memory.py
for round in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    tree=$([ "$side" = before ] && echo "$BEFORE" || echo "$AFTER")
    home=$(mktemp -d)
    echo "# round $round $side $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    (cd "$tree" && FANOUT_HOME=$home "$AFTER/.venv/bin/python" -c "
import resource, subprocess, sys
subprocess.run([sys.executable, '$HARNESS', '$N'], check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f'cpu_user_s={r.ru_utime:.2f} cpu_sys_s={r.ru_stime:.2f}')
" 2>&1 | grep -v "clickhouse.migrated\|info \|debug ")
    rm -rf "$home"
  done
done
