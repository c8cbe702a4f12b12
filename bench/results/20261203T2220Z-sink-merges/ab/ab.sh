#!/bin/bash
# report_sink's email_events merge_selector_base 5 (ClickHouse's default) against 20,
# alternating; every service but Kafka restarted with the value before its run; e2e 300k --tune.
out=${OUT:-/tmp/sbs2/out}
rounds=${ROUNDS:-3}
mkdir -p $out
for round in $(seq 1 $rounds); do
  for base in 5 20; do
    cd /work/main
    for f in /var/lib/fanout/run/*.pid; do
      case $f in *kafka*) continue;; esac
      kill $(cat $f) 2>/dev/null
    done
    sleep 8
    FANOUT_REPORT_SINK_CHDB_EVENTS_MERGE_SELECTOR_BASE=$base /work/main/.venv/bin/fanout stack up > $out/up-$round-$base.log 2>&1
    spid=$(cat /var/lib/fanout/run/report-sink.pid)
    got=$(tr '\0' '\n' < /proc/$spid/environ | grep MERGE_SELECTOR_BASE)
    /work/main/.venv/bin/fanout bench e2e --leads 300000 --tune --out $out/base$base.jsonl > $out/run-$round-$base.out 2>&1
    echo "round $round base $base rc=$? sink env: $got $(date -u +%H:%M:%S)" >> $out/progress
  done
done
echo done >> $out/progress
