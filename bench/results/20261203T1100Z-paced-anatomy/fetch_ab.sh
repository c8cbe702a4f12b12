#!/bin/sh
# report_sink's fetch minimum, side by side: aiokafka's default (1 byte, 500 ms) against
# 64 KB / 200 ms (the guard's and notifier's) and 1 MB / 200 ms, alternating, ROUNDS times.
# Each: the sink restarted with the setting (FANOUT_REPORT_SINK_FETCH_MIN_BYTES), then
# paced_anatomy.py with a 100k fill and one paced part of 300k events.
ROUNDS=${1:-2}
cd "$(dirname "$0")"
for i in $(seq "$ROUNDS"); do
  for bytes in 1 65536 1048576; do
    wait=200; [ "$bytes" = 1 ] && wait=500
    kill "$(pgrep -f services.report_sink)"; while pgrep -f services.report_sink > /dev/null; do sleep 0.5; done
    FANOUT_REPORT_SINK_FETCH_MIN_BYTES=$bytes FANOUT_REPORT_SINK_FETCH_MAX_WAIT_MS=$wait \
      /work/main/.venv/bin/fanout stack up > /dev/null 2>&1
    sleep 10
    echo "== $(date -u +%H:%M:%S) round $i fetch_min_bytes $bytes wait $wait load $(cut -d' ' -f1-3 /proc/loadavg)"
    /work/main/.venv/bin/python paced_anatomy.py 100000 300000 1 "fetch-$i-$bytes.csv" 2>&1 | grep -v "Unable\|Got error"
  done
done
